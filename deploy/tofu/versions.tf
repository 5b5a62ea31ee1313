# OpenTofu's settings block (the keyword is the language's own): run this code with deploy/tofu/tofu.sh.
terraform {
  required_version = ">= 1.10.0"
  # The state lives in S3 (never on one laptop), locked with S3's own conditional writes (use_lockfile,
  # OpenTofu 1.10+: no DynamoDB table): `tofu.sh init -backend-config=backend.hcl` (see backend.hcl.example).
  backend "s3" {}
  required_providers {
    aws        = { source = "hashicorp/aws", version = "~> 5.83" } # aws_cloudfront_vpc_origin
    kubernetes = { source = "hashicorp/kubernetes", version = "~> 2.35" }
    helm       = { source = "hashicorp/helm", version = "~> 2.17" }
    tls        = { source = "hashicorp/tls", version = "~> 4.0" }
    random     = { source = "hashicorp/random", version = "~> 3.6" }
  }
}
