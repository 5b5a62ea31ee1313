variable "region" {
  description = "The AWS region to run in."
  type        = string
  default     = "us-east-1"
}

variable "cluster_name" {
  description = "The EKS cluster's name (also prefixes the network's names)."
  type        = string
  default     = "gpudev"
}

variable "kubernetes_version" {
  description = "The EKS Kubernetes version."
  type        = string
  default     = "1.33"
}

variable "vpc_cidr" {
  description = "The VPC's address range."
  type        = string
  default     = "10.60.0.0/16"
}

variable "gpu_node_groups" {
  description = <<-EOT
    GPU node groups by GPU type (the scheduler's type name, and the nodes' GpuType label): the instance
    type, how many nodes, GPUs per node, whether reservations may span nodes (a placement group), and an
    optional EC2 capacity reservation to launch into.
  EOT
  type = map(object({
    instance_type           = string
    count                   = number
    gpus_per_node           = number
    multinode               = optional(bool, false)
    capacity_reservation_id = optional(string)
    disk_size_gb            = optional(number, 500)
  }))
  default = {
    h100 = { instance_type = "p5.48xlarge", count = 2, gpus_per_node = 8, multinode = true }
    a10g = { instance_type = "g5.12xlarge", count = 1, gpus_per_node = 4 }
  }
}

variable "control_plane_instance_type" {
  description = "The CPU nodes that run the platform itself (API, processor, proxy, PostgreSQL, caches)."
  type        = string
  default     = "m7i.xlarge"
}

variable "control_plane_nodes" {
  description = "How many CPU nodes."
  type        = number
  default     = 2
}

variable "image_repository" {
  description = "The platform's server image (deploy/images/server), without its tag."
  type        = string
  default     = "ghcr.io/gpudev/server"
}

variable "image_tag" {
  description = "The server image's tag."
  type        = string
  default     = "0.1.0"
}

variable "dev_image" {
  description = "The default development image (deploy/images/dev)."
  type        = string
  default     = "ghcr.io/gpudev/dev:cuda12.8"
}

variable "allowed_aws_accounts" {
  description = "AWS accounts whose users may log in with their AWS identity (comma-separated ids; empty: token logins only)."
  type        = string
  default     = ""
}

variable "allowed_aws_role" {
  description = "The role (assumed through SSO) that may log in."
  type        = string
  default     = "SSOCloudDevGpuReservation"
}

variable "external_database_secret" {
  description = "A Secret in the control plane's namespace holding the database URL (key 'url'); empty: PostgreSQL in the chart."
  type        = string
  default     = ""
}

variable "tags" {
  description = "Tags on every AWS resource."
  type        = map(string)
  default     = { Project = "gpudev" }
}
