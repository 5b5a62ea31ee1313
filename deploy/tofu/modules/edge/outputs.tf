output "domain_name" {
  value = aws_cloudfront_distribution.api.domain_name
}
