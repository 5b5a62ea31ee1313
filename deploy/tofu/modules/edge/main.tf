# HTTPS in front of the API: a CloudFront distribution (its own certificate, *.cloudfront.net) whose origin
# is an INTERNAL Network Load Balancer, reached through a CloudFront VPC origin: between the two, traffic stays
# on AWS's private network; nothing on the internet reaches the load balancer, so nobody bypasses CloudFront,
# and no API key, login token or signed request crosses the internet in clear. Nothing is cached.

# The load balancer's own security group: in, port 80 from CloudFront's origin-facing addresses only (its VPC
# origin's traffic); out, the API's node port on the nodes.
resource "aws_security_group" "api_origin" {
  name_prefix = "${var.name}-api-origin-"
  description = "gpudev API internal load balancer (CloudFront VPC origin)"
  vpc_id      = var.vpc_id
}

data "aws_ec2_managed_prefix_list" "cloudfront" {
  name = "com.amazonaws.global.cloudfront.origin-facing"
}

resource "aws_vpc_security_group_ingress_rule" "origin_http" {
  security_group_id = aws_security_group.api_origin.id
  prefix_list_id    = data.aws_ec2_managed_prefix_list.cloudfront.id
  from_port         = 80
  to_port           = 80
  ip_protocol       = "tcp"
}

resource "aws_vpc_security_group_egress_rule" "origin_to_nodes" {
  security_group_id            = aws_security_group.api_origin.id
  referenced_security_group_id = var.node_security_group_id
  from_port                    = var.api_node_port
  to_port                      = var.api_node_port
  ip_protocol                  = "tcp"
}

resource "aws_vpc_security_group_ingress_rule" "nodes_from_origin" {
  security_group_id            = var.node_security_group_id
  referenced_security_group_id = aws_security_group.api_origin.id
  from_port                    = var.api_node_port
  to_port                      = var.api_node_port
  ip_protocol                  = "tcp"
}

resource "aws_lb" "api" {
  name               = "${var.name}-api"
  internal           = true
  load_balancer_type = "network"
  subnets            = var.private_subnet_ids
  security_groups    = [aws_security_group.api_origin.id]
}

resource "aws_lb_target_group" "api" {
  name        = "${var.name}-api"
  port        = var.api_node_port
  protocol    = "TCP"
  vpc_id      = var.vpc_id
  target_type = "instance"
  # the nodes see the load balancer, not the viewer (their rule admits its security group; the API reads the
  # viewer's address from CloudFront's header)
  preserve_client_ip = "false"
  health_check {
    protocol = "HTTP"
    path     = "/health"
    port     = "traffic-port"
  }
}

resource "aws_lb_listener" "api" {
  load_balancer_arn = aws_lb.api.arn
  port              = 80
  protocol          = "TCP"
  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.api.arn
  }
}

resource "aws_autoscaling_attachment" "api" {
  autoscaling_group_name = var.control_plane_autoscaling_group
  lb_target_group_arn    = aws_lb_target_group.api.arn
}

resource "aws_cloudfront_vpc_origin" "api" {
  vpc_origin_endpoint_config {
    name                   = "${var.name}-api"
    arn                    = aws_lb.api.arn
    http_port              = 80
    https_port             = 443
    origin_protocol_policy = "http-only"
    origin_ssl_protocols {
      items    = ["TLSv1.2"]
      quantity = 1
    }
  }
}

data "aws_cloudfront_cache_policy" "disabled" {
  name = "Managed-CachingDisabled"
}

# Every header (Authorization too), cookie and query string, and CloudFront's own headers:
# CloudFront-Forwarded-Proto tells the API the browser came over HTTPS (the dashboard's cookie is Secure).
data "aws_cloudfront_origin_request_policy" "all_viewer" {
  name = "Managed-AllViewerAndCloudFrontHeaders-2022-06"
}

resource "aws_cloudfront_distribution" "api" {
  enabled         = true
  comment         = "${var.name} API"
  price_class     = var.price_class
  is_ipv6_enabled = true

  origin {
    origin_id   = "api"
    domain_name = aws_lb.api.dns_name
    vpc_origin_config {
      vpc_origin_id       = aws_cloudfront_vpc_origin.api.id
      origin_read_timeout = 60
    }
  }

  default_cache_behavior {
    target_origin_id         = "api"
    viewer_protocol_policy   = "redirect-to-https"
    allowed_methods          = ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"]
    cached_methods           = ["GET", "HEAD"]
    cache_policy_id          = data.aws_cloudfront_cache_policy.disabled.id
    origin_request_policy_id = data.aws_cloudfront_origin_request_policy.all_viewer.id
    compress                 = true
  }

  # An error is one user's answer: never kept for the next (CloudFront caches errors 10 s by default).
  dynamic "custom_error_response" {
    for_each = [400, 403, 404, 405, 414, 416, 500, 501, 502, 503, 504]
    content {
      error_code            = custom_error_response.value
      error_caching_min_ttl = 0
    }
  }

  restrictions {
    geo_restriction {
      restriction_type = "none"
    }
  }

  viewer_certificate {
    cloudfront_default_certificate = true
  }
}
