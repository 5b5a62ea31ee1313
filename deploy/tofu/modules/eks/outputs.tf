output "cluster_name" {
  value = aws_eks_cluster.this.name
}

output "endpoint" {
  value = aws_eks_cluster.this.endpoint
}

output "certificate_authority" {
  value = aws_eks_cluster.this.certificate_authority[0].data
}

output "oidc_provider_arn" {
  value = aws_iam_openid_connect_provider.this.arn
}

output "storage_class" {
  description = "The default storage class (gp3), once it exists."
  value       = kubernetes_storage_class_v1.gp3.metadata[0].name
}

output "control_plane_autoscaling_group" {
  description = "The control-plane node group's Auto Scaling group (the API's load balancer targets its nodes)."
  value       = aws_eks_node_group.control_plane.resources[0].autoscaling_groups[0].name
}

output "node_security_group_id" {
  description = "The security group EKS gives the cluster's nodes."
  value       = aws_eks_cluster.this.vpc_config[0].cluster_security_group_id
}

output "gpu_autoscaling_groups" {
  description = "Each GPU type's node group's Auto Scaling group (the processor sizes it from the queue)."
  value       = { for type, g in aws_eks_node_group.gpu : type => g.resources[0].autoscaling_groups[0].name }
}

output "oidc_provider_url" {
  value = aws_iam_openid_connect_provider.this.url
}

output "gpu_zones" {
  description = "The availability zone each GPU type's node group keeps to."
  value       = { for type, g in var.gpu_node_groups : type => coalesce(g.availability_zone, keys(var.private_subnets_by_az)[0]) }
}
