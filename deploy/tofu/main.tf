# From an empty AWS account to a running platform: a network, an EKS cluster with GPU node groups, the
# platform's Helm chart, and CloudFront for HTTPS in front of the API. See deploy/README.md.

provider "aws" {
  region = var.region
  default_tags {
    tags = var.tags
  }
}

provider "kubernetes" {
  host                   = module.eks.endpoint
  cluster_ca_certificate = base64decode(module.eks.certificate_authority)
  exec {
    api_version = "client.authentication.k8s.io/v1beta1"
    command     = "aws"
    args        = ["eks", "get-token", "--cluster-name", module.eks.cluster_name, "--region", var.region]
  }
}

provider "helm" {
  kubernetes {
    host                   = module.eks.endpoint
    cluster_ca_certificate = base64decode(module.eks.certificate_authority)
    exec {
      api_version = "client.authentication.k8s.io/v1beta1"
      command     = "aws"
      args        = ["eks", "get-token", "--cluster-name", module.eks.cluster_name, "--region", var.region]
    }
  }
}

locals {
  # where every control-plane node serves the API (the internal load balancer's target)
  api_node_port   = 30080
  multinode_types = [for type, g in var.gpu_node_groups : type if g.multinode]
  # the images: where the operator says, else this account's ECR repositories made below (the nodes' role pulls)
  image_repository = var.image_repository != "" ? var.image_repository : aws_ecr_repository.images["server"].repository_url
  dev_image        = var.dev_image != "" ? var.dev_image : "${aws_ecr_repository.images["dev"].repository_url}:cuda12.8"
}

# The platform's images in this account (deploy/README.md says how to build and push them): private, scanned
# on push, and pulled by the nodes' role without any secret.
resource "aws_ecr_repository" "images" {
  for_each             = toset(["server", "dev"])
  name                 = "${var.cluster_name}/${each.key}"
  image_tag_mutability = "MUTABLE"
  force_delete         = false
  image_scanning_configuration {
    scan_on_push = true
  }
}

module "network" {
  source          = "./modules/network"
  name            = var.cluster_name
  cidr            = var.vpc_cidr
  placement_types = local.multinode_types
}

module "eks" {
  source                      = "./modules/eks"
  cluster_name                = var.cluster_name
  kubernetes_version          = var.kubernetes_version
  private_subnet_ids          = module.network.private_subnet_ids
  private_subnets_by_az       = module.network.private_subnets_by_az
  public_subnet_ids           = module.network.public_subnet_ids
  gpu_node_groups             = var.gpu_node_groups
  placement_groups            = module.network.placement_groups
  control_plane_instance_type = var.control_plane_instance_type
  control_plane_nodes         = var.control_plane_nodes
  cluster_admins              = var.cluster_admins
}

module "platform" {
  source                   = "./modules/platform"
  chart_path               = "${path.module}/../helm/gpudev"
  image_repository         = local.image_repository
  image_tag                = var.image_tag
  dev_image                = local.dev_image
  registry_docker_config   = var.registry_docker_config_json
  allowed_aws_accounts     = var.allowed_aws_accounts
  allowed_aws_role         = var.allowed_aws_role
  region                   = var.region
  cluster_name             = var.cluster_name
  oidc_provider_arn        = module.eks.oidc_provider_arn
  oidc_provider_url        = module.eks.oidc_provider_url
  # every GPU group whose max is above its count is sized by the processor from the queue (scale to zero)
  gpu_pools = {
    for type, g in var.gpu_node_groups : type => {
      autoscaling_group = module.eks.gpu_autoscaling_groups[type]
      node_group        = "gpu-${type}"
      gpus_per_node     = g.gpus_per_node
      min               = g.capacity_reservation_id == null ? 0 : g.count
      max               = max(1, g.max_count, g.count)
      zone              = module.eks.gpu_zones[type]
    } if g.max_count > g.count
  }
  external_database_secret = var.external_database_secret
  external_database_url    = var.external_database_url
  storage_ready            = module.eks.storage_class
  api_node_port            = local.api_node_port
  public_host              = module.edge.domain_name
}

module "edge" {
  source                          = "./modules/edge"
  name                            = var.cluster_name
  vpc_id                          = module.network.vpc_id
  private_subnet_ids              = module.network.private_subnet_ids
  control_plane_autoscaling_group = module.eks.control_plane_autoscaling_group
  node_security_group_id          = module.eks.node_security_group_id
  api_node_port                   = local.api_node_port
}
