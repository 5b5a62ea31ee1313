output "namespace" {
  value = kubernetes_namespace_v1.control_plane.metadata[0].name
}

output "api_node_port" {
  description = "The port every control-plane node serves the API on."
  value       = var.api_node_port
}

output "ssh_proxy_hostname" {
  value = local.proxy_hostname
}
