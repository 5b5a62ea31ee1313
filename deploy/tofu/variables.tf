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
  description = <<-EOT
    The EKS Kubernetes version. Keep it within standard support (14 months from its EKS release): past it,
    extended support costs six times as much per cluster-hour. 1.35 is in standard support into 2027.
  EOT
  type        = string
  default     = "1.35"
}

variable "vpc_cidr" {
  description = "The VPC's address range."
  type        = string
  default     = "10.60.0.0/16"
}

variable "gpu_node_groups" {
  description = <<-EOT
    GPU node groups by GPU type (the scheduler's type name, and the nodes' GpuType label): the instance
    type, how many nodes now (count; 0 costs nothing) and at most (max_count), GPUs per node, whether
    reservations may span nodes (a placement group), how they are bought (capacity_type: ON_DEMAND, SPOT,
    or CAPACITY_BLOCK with capacity_reservation_id = the block's cr-… id), an On-Demand Capacity
    Reservation to launch into (capacity_reservation_id with ON_DEMAND), and the availability zone the
    group keeps to (default: the first; a reservation's or a block's zone must be named).
    The default is one type at zero nodes: nothing is billed for GPUs until you ask for them.
  EOT
  type = map(object({
    instance_type           = string
    count                   = number
    gpus_per_node           = number
    max_count               = optional(number, 0)
    multinode               = optional(bool, false)
    capacity_type           = optional(string, "ON_DEMAND")
    capacity_reservation_id = optional(string)
    availability_zone       = optional(string)
    disk_size_gb            = optional(number, 500)
  }))
  default = {
    l4 = { instance_type = "g6.xlarge", count = 0, max_count = 2, gpus_per_node = 1, disk_size_gb = 200 }
  }
  validation {
    condition     = alltrue([for g in values(var.gpu_node_groups) : contains(["ON_DEMAND", "SPOT", "CAPACITY_BLOCK"], g.capacity_type)])
    error_message = "capacity_type is ON_DEMAND, SPOT or CAPACITY_BLOCK."
  }
  validation {
    condition     = alltrue([for g in values(var.gpu_node_groups) : g.capacity_type != "CAPACITY_BLOCK" || g.capacity_reservation_id != null])
    error_message = "A CAPACITY_BLOCK group needs capacity_reservation_id: the block's id (cr-…)."
  }
  validation {
    condition     = alltrue([for g in values(var.gpu_node_groups) : g.count >= 0 && g.count <= max(1, g.max_count, g.count)])
    error_message = "count is 0 or more, and at most max_count."
  }
}

variable "control_plane_instance_type" {
  description = "The CPU nodes that run the platform itself (API, processor, proxy, PostgreSQL, caches)."
  type        = string
  default     = "m7i.large"
}

variable "control_plane_nodes" {
  description = "How many CPU nodes."
  type        = number
  default     = 2
}

variable "image_repository" {
  description = "The platform's server image (deploy/images/server), without its tag; empty: this account's ECR repository <cluster>/server, made here."
  type        = string
  default     = ""
}

variable "image_tag" {
  description = "The server image's tag."
  type        = string
  default     = "0.1.0"
}

variable "dev_image" {
  description = "The default development image (deploy/images/dev); empty: this account's ECR repository <cluster>/dev, made here, tag cuda12.8."
  type        = string
  default     = ""
}

variable "registry_docker_config_json" {
  description = <<-EOT
    Credentials of a private registry other than this account's ECR (ghcr.io, say), as a .dockerconfigjson:
    the platform's pods and every environment pull with them. Empty: none (ECR in this account needs none).
  EOT
  type        = string
  default     = ""
  sensitive   = true
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

variable "cluster_admins" {
  description = "IAM role or user ARNs that administer the cluster besides whoever applies this (EKS access entries)."
  type        = list(string)
  default     = []
}

variable "external_database_url" {
  description = "PostgreSQL outside the cluster (RDS, with the pgmq extension): postgresql://user:password@host:5432/db. Made into a Secret in the same apply; empty: PostgreSQL in the chart (or external_database_secret)."
  type        = string
  default     = ""
  sensitive   = true
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
