variable "name" {
  type = string
}

variable "api_origin_dns" {
  description = "The API's load balancer DNS name."
  type        = string
}

variable "price_class" {
  type    = string
  default = "PriceClass_100"
}
