variable "name" {
  type = string
}

variable "price_class" {
  description = "CloudFront's price class (where its edges serve from)."
  type        = string
  default     = "PriceClass_100"
}

variable "vpc_id" {
  type = string
}


variable "private_subnet_ids" {
  description = "Where the internal load balancer lives."
  type        = list(string)
}

variable "control_plane_autoscaling_group" {
  description = "The Auto Scaling group of the nodes that serve the API on its node port."
  type        = string
}

variable "node_security_group_id" {
  description = "The nodes' security group: it lets the load balancer reach the node port."
  type        = string
}

variable "api_node_port" {
  type = number
}
