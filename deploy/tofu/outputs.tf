output "api_service_url" {
  description = "The API over HTTPS (CloudFront): what users log in to (gpu-dev login --api-url ...)."
  value       = "https://${module.edge.domain_name}"
}

output "ssh_proxy_address" {
  description = "Where users' ssh reaches the SSH proxy (the CLI is told by the API)."
  value       = "${module.platform.ssh_proxy_hostname}:22"
}

output "kubeconfig_command" {
  description = "Point kubectl at the cluster."
  value       = "aws eks update-kubeconfig --region ${var.region} --name ${module.eks.cluster_name}"
}

output "first_admin_token_command" {
  description = "The first admin's one-time login token."
  value       = "kubectl -n ${module.platform.namespace} exec deploy/gpudev-api -- cat /data/admin-token"
}

output "image_repositories" {
  description = "This account's ECR repositories for the platform's images (push there: deploy/README.md)."
  value       = { for k, r in aws_ecr_repository.images : k => r.repository_url }
}
