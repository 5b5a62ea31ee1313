variable "cluster_name" {
  type = string
}

variable "kubernetes_version" {
  type = string
}

variable "private_subnet_ids" {
  description = "Where the nodes run."
  type        = list(string)
}

variable "private_subnets_by_az" {
  description = "The private subnet of each availability zone (a GPU type's node group keeps to one)."
  type        = map(string)
}

variable "public_subnet_ids" {
  description = "Where the cluster's public endpoint and load balancers live."
  type        = list(string)
}

variable "gpu_node_groups" {
  description = "GPU node groups by GPU type (see the root module)."
  type = map(object({
    instance_type           = string
    count                   = number
    gpus_per_node           = number
    multinode               = optional(bool, false)
    capacity_reservation_id = optional(string)
    capacity_type           = optional(string, "ON_DEMAND")
    availability_zone       = optional(string)
    max_count               = optional(number, 0)
    disk_size_gb            = optional(number, 500)
  }))
}

variable "placement_groups" {
  description = "Placement group names by GPU type."
  type        = map(string)
  default     = {}
}

variable "control_plane_instance_type" {
  type = string
}

variable "control_plane_nodes" {
  type = number
}

variable "device_plugin_version" {
  description = "NVIDIA's device plugin (it makes nvidia.com/gpu allocatable)."
  type        = string
  default     = "0.17.1"
}

variable "cluster_admins" {
  description = "IAM role or user ARNs that administer the cluster besides its creator."
  type        = list(string)
  default     = []
}

variable "efa_device_plugin_version" {
  description = "AWS's EFA device plugin (it makes vpc.amazonaws.com/efa allocatable on multi-node GPU groups)."
  type        = string
  default     = "v0.5.6"
}
