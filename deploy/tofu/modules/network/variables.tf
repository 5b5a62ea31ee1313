variable "name" {
  description = "Names the network's resources."
  type        = string
}

variable "cidr" {
  description = "The VPC's address range."
  type        = string
}

variable "placement_types" {
  description = "GPU types whose nodes get a cluster placement group (reservations that span nodes)."
  type        = list(string)
  default     = []
}

variable "az_count" {
  description = "How many availability zones."
  type        = number
  default     = 3
}
