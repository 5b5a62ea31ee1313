variable "chart_path" {
  description = "The platform's Helm chart (deploy/helm/gpudev)."
  type        = string
}

variable "namespace" {
  description = "The control plane's namespace."
  type        = string
  default     = "gpu-controlplane"
}

variable "image_repository" {
  type = string
}

variable "image_tag" {
  type = string
}

variable "dev_image" {
  type = string
}


variable "allowed_aws_accounts" {
  type    = string
  default = ""
}

variable "allowed_aws_role" {
  type    = string
  default = "SSOCloudDevGpuReservation"
}

variable "region" {
  type = string
}

variable "external_database_secret" {
  description = "A Secret in the namespace with the database URL (key 'url'); empty: PostgreSQL in the chart."
  type        = string
  default     = ""
}

variable "storage_ready" {
  description = "The storage class the chart's volumes use (and proof that it exists)."
  type        = string
}

variable "api_node_port" {
  description = "The port every control-plane node serves the API on (the internal load balancer's target)."
  type        = number
  default     = 30080
}

variable "registry_docker_config" {
  description = "A private registry's .dockerconfigjson (empty: none)."
  type        = string
  default     = ""
  sensitive   = true
}

variable "external_database_url" {
  description = "PostgreSQL outside the cluster, made into Secret gpudev-database here (empty: none)."
  type        = string
  default     = ""
  sensitive   = true
}

variable "cluster_name" {
  type = string
}

variable "gpu_pools" {
  description = "Elastic GPU pools by type: the node group's Auto Scaling group, GPUs per node, most nodes."
  type = map(object({
    autoscaling_group = string
    node_group        = string
    gpus_per_node     = number
    min               = number
    max               = number
    zone              = string
  }))
  default = {}
}

variable "oidc_provider_arn" {
  type = string
}

variable "oidc_provider_url" {
  type = string
}

variable "public_host" {
  description = "Where users reach the API (CloudFront's domain), for the release's notes."
  type        = string
  default     = ""
}
