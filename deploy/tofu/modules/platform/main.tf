# The platform on the cluster: its Helm chart, with the SSH proxy's load balancer made here first, so
# that the API can tell users the proxy's address.

resource "kubernetes_namespace_v1" "control_plane" {
  metadata {
    name   = var.namespace
    labels = { "app.kubernetes.io/part-of" = "gpudev" }
  }
}

# A Network Load Balancer in front of the proxy's pods (the chart's own Service is off: its name would
# only be known after the chart, and the chart needs it).
resource "kubernetes_service_v1" "ssh_proxy" {
  metadata {
    name      = "gpudev-proxy"
    namespace = kubernetes_namespace_v1.control_plane.metadata[0].name
    annotations = {
      "service.beta.kubernetes.io/aws-load-balancer-type"   = "nlb"
      "service.beta.kubernetes.io/aws-load-balancer-scheme" = "internet-facing"
    }
  }
  spec {
    type = "LoadBalancer"
    selector = {
      "app.kubernetes.io/name"      = "gpudev"
      "app.kubernetes.io/instance"  = "gpudev"
      "app.kubernetes.io/component" = "proxy"
    }
    port {
      name        = "ssh"
      port        = 22
      target_port = "ssh"
      protocol    = "TCP"
    }
  }
  wait_for_load_balancer = true
}

# The database password and the proxy's host key are made here, once, and kept in the state: a retried or
# repeated apply (a release installed again) never makes new ones while the database volume keeps the old
# password and users' ssh keeps the old host key.
resource "random_password" "database" {
  length  = 40
  special = false
}

resource "tls_private_key" "ssh_host" {
  algorithm   = "ECDSA"
  ecdsa_curve = "P256"
}

# An external database's URL, given to this apply: its Secret is made here, before the chart that reads it.
resource "kubernetes_secret_v1" "external_database" {
  count = var.external_database_url != "" ? 1 : 0
  metadata {
    name      = "gpudev-database"
    namespace = kubernetes_namespace_v1.control_plane.metadata[0].name
  }
  data = { url = var.external_database_url }
}

locals {
  external_database_secret = var.external_database_url != "" ? kubernetes_secret_v1.external_database[0].metadata[0].name : var.external_database_secret
}

resource "kubernetes_secret_v1" "database" {
  count = local.external_database_secret == "" ? 1 : 0
  metadata {
    name      = "gpudev-postgres-password"
    namespace = kubernetes_namespace_v1.control_plane.metadata[0].name
  }
  data = { password = random_password.database.result }
}

resource "kubernetes_secret_v1" "ssh_host_key" {
  metadata {
    name      = "gpudev-proxy-host-key"
    namespace = kubernetes_namespace_v1.control_plane.metadata[0].name
  }
  data = { ssh_host_key = tls_private_key.ssh_host.private_key_pem }
}

# The processor sizes the elastic GPU pools from the queue: an IAM role for its service account (IRSA) that may
# read the cluster's Auto Scaling groups and size or shrink those of this cluster's node groups only.
resource "aws_iam_role" "processor" {
  count = length(var.gpu_pools) > 0 ? 1 : 0
  name  = "${var.cluster_name}-processor"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Federated = var.oidc_provider_arn }
      Action    = "sts:AssumeRoleWithWebIdentity"
      Condition = {
        StringEquals = {
          "${replace(var.oidc_provider_url, "https://", "")}:sub" = "system:serviceaccount:${var.namespace}:gpudev-processor"
        }
      }
    }]
  })
}

resource "aws_iam_role_policy" "processor_pools" {
  count = length(var.gpu_pools) > 0 ? 1 : 0
  name  = "elastic-gpu-pools"
  role  = aws_iam_role.processor[0].id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      { Effect = "Allow", Action = ["autoscaling:DescribeAutoScalingGroups"], Resource = "*" },
      {
        # this cluster's GPU node groups only: never the control plane's
        Effect   = "Allow"
        Action   = ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"]
        Resource = "*"
        Condition = {
          StringEquals = { "aws:ResourceTag/eks:cluster-name" = var.cluster_name }
          "ForAnyValue:StringEquals" = { "aws:ResourceTag/eks:nodegroup-name" = [for p in values(var.gpu_pools) : p.node_group] }
        }
      }
    ]
  })
}

locals {
  proxy_hostname = kubernetes_service_v1.ssh_proxy.status[0].load_balancer[0].ingress[0].hostname
}

resource "helm_release" "gpudev" {
  name      = "gpudev"
  chart     = var.chart_path
  namespace = kubernetes_namespace_v1.control_plane.metadata[0].name
  wait      = true
  timeout   = 900
  values = [yamlencode({
    image        = { repository = var.image_repository, tag = var.image_tag }
    publicHost   = var.public_host
    controlPlane = { nodeSelector = { "gpudev.dev/role" = "control-plane" } }
    # behind the internal load balancer the edge module makes (CloudFront's VPC origin): never on the internet
    api = {
      service             = { type = "NodePort", port = 80, nodePort = var.api_node_port }
      clientAddressHeader = "CloudFront-Viewer-Address" # set by CloudFront, the only way in
    }
    aws   = { allowedAccounts = var.allowed_aws_accounts, allowedRole = var.allowed_aws_role, region = var.region }
    proxy = {
      publicHost = local.proxy_hostname
      service    = { create = false, port = 22 }
      hostKey    = { existingSecret = kubernetes_secret_v1.ssh_host_key.metadata[0].name }
    }
    processor = {
      nodePools = [for type, p in var.gpu_pools :
      "${type}=${p.autoscaling_group},gpus=${p.gpus_per_node},max=${p.max},min=${p.min},zone=${p.zone}"]
      serviceAccountAnnotations = length(var.gpu_pools) > 0 ? { "eks.amazonaws.com/role-arn" = aws_iam_role.processor[0].arn } : {}
    }
    environments = {
      defaultImage = var.dev_image
      storageClass = var.storage_ready
    }
    database = {
      internal = {
        enabled        = local.external_database_secret == ""
        storageClass   = var.storage_ready
        existingSecret = local.external_database_secret == "" ? kubernetes_secret_v1.database[0].metadata[0].name : ""
      }
      external = { existingSecret = local.external_database_secret, key = "url" }
    }
    registryCache = { storageClass = var.storage_ready }
  })]
  # the registry's credentials never appear in a plan's diff nor in the release's values shown
  # base64: Helm's --set parser would split a JSON value at its commas and braces
  dynamic "set_sensitive" {
    for_each = nonsensitive(var.registry_docker_config != "") ? [1] : []
    content {
      name  = "registryCredentials.dockerConfigJsonBase64"
      value = base64encode(var.registry_docker_config)
    }
  }
}
