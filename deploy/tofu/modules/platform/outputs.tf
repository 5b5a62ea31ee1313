output "namespace" {
  value = kubernetes_namespace_v1.control_plane.metadata[0].name
}

output "api_loadbalancer_hostname" {
  description = "The API's load balancer (CloudFront's origin)."
  value       = data.kubernetes_service_v1.api.status[0].load_balancer[0].ingress[0].hostname
}

output "ssh_proxy_hostname" {
  value = local.proxy_hostname
}
