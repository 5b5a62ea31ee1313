# HTTPS in front of the API: a CloudFront distribution (its own certificate, *.cloudfront.net) whose
# origin is the API's load balancer. Nothing is cached: every request reaches the API.

data "aws_cloudfront_cache_policy" "disabled" {
  name = "Managed-CachingDisabled"
}

# Every header, cookie and query string (the dashboard's session cookie and CSRF header included), and
# CloudFront's own headers: CloudFront-Forwarded-Proto tells the API the browser came over HTTPS, so the
# dashboard's cookie is marked Secure although CloudFront reaches the load balancer over HTTP.
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
    domain_name = var.api_origin_dns
    custom_origin_config {
      http_port              = 80
      https_port             = 443
      origin_protocol_policy = "http-only"
      origin_ssl_protocols   = ["TLSv1.2"]
      origin_read_timeout    = 60
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

  restrictions {
    geo_restriction {
      restriction_type = "none"
    }
  }

  viewer_certificate {
    cloudfront_default_certificate = true
  }
}
