# The EKS cluster: its control plane, a CPU node group for the platform, one node group per GPU type
# (labelled GpuType=<type>, tainted nvidia.com/gpu so that only GPU work lands there), the VPC CNI with
# network policies enforced, the EBS CSI driver (disks), and NVIDIA's device plugin.

data "aws_partition" "current" {}

resource "aws_iam_role" "cluster" {
  name = "${var.cluster_name}-cluster"
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Principal = { Service = "eks.amazonaws.com" }, Action = "sts:AssumeRole" }]
  })
}

resource "aws_iam_role_policy_attachment" "cluster" {
  role       = aws_iam_role.cluster.name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/AmazonEKSClusterPolicy"
}

resource "aws_eks_cluster" "this" {
  name     = var.cluster_name
  version  = var.kubernetes_version
  role_arn = aws_iam_role.cluster.arn
  vpc_config {
    subnet_ids              = concat(var.private_subnet_ids, var.public_subnet_ids)
    endpoint_private_access = true
    endpoint_public_access  = true
  }
  access_config {
    authentication_mode                         = "API_AND_CONFIG_MAP"
    bootstrap_cluster_creator_admin_permissions = true
  }
  depends_on = [aws_iam_role_policy_attachment.cluster]
}

# More cluster admins than whoever ran the first apply (a team, a CI role): EKS access entries, no aws-auth.
resource "aws_eks_access_entry" "admins" {
  for_each      = toset(var.cluster_admins)
  cluster_name  = aws_eks_cluster.this.name
  principal_arn = each.value
}

resource "aws_eks_access_policy_association" "admins" {
  for_each      = toset(var.cluster_admins)
  cluster_name  = aws_eks_cluster.this.name
  principal_arn = each.value
  policy_arn    = "arn:${data.aws_partition.current.partition}:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
  access_scope {
    type = "cluster"
  }
  depends_on = [aws_eks_access_entry.admins]
}

data "tls_certificate" "oidc" {
  url = aws_eks_cluster.this.identity[0].oidc[0].issuer
}

# Service accounts assume AWS roles through the cluster's OIDC issuer (the EBS CSI driver's).
resource "aws_iam_openid_connect_provider" "this" {
  url             = aws_eks_cluster.this.identity[0].oidc[0].issuer
  client_id_list  = ["sts.amazonaws.com"]
  thumbprint_list = [data.tls_certificate.oidc.certificates[0].sha1_fingerprint]
}

resource "aws_iam_role" "nodes" {
  name = "${var.cluster_name}-nodes"
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Principal = { Service = "ec2.amazonaws.com" }, Action = "sts:AssumeRole" }]
  })
}

resource "aws_iam_role_policy_attachment" "nodes" {
  for_each = toset(["AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryReadOnly"])
  role       = aws_iam_role.nodes.name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/${each.key}"
}

# Pods must not borrow the node's role: IMDSv2 only, one network hop (a pod is a hop further).
resource "aws_launch_template" "control_plane" {
  name_prefix = "${var.cluster_name}-control-plane-"
  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }
}

resource "aws_eks_node_group" "control_plane" {
  cluster_name    = aws_eks_cluster.this.name
  node_group_name = "control-plane"
  node_role_arn   = aws_iam_role.nodes.arn
  # One zone: PostgreSQL's and the caches' volumes are zonal EBS; a roll must bring nodes back where they are.
  subnet_ids = [var.private_subnets_by_az[keys(var.private_subnets_by_az)[0]]]
  instance_types  = [var.control_plane_instance_type]
  scaling_config {
    desired_size = var.control_plane_nodes
    min_size     = var.control_plane_nodes
    max_size     = var.control_plane_nodes + 1
  }
  launch_template {
    id      = aws_launch_template.control_plane.id
    version = aws_launch_template.control_plane.latest_version
  }
  labels     = { "gpudev.dev/role" = "control-plane" }
  depends_on = [aws_iam_role_policy_attachment.nodes, aws_eks_addon.vpc_cni]
}

# Multi-node GPU groups on instances with EFA (AWS's Elastic Fabric Adapter: p4d, p5, …) get every network card
# as an EFA interface, so NCCL between nodes runs over libfabric; the EFA device plugin offers them to pods
# (a distributed reservation's node takes them all).
data "aws_ec2_instance_type" "gpu" {
  for_each      = var.gpu_node_groups
  instance_type = each.value.instance_type
}

locals {
  efa_cards = {
    for type, g in var.gpu_node_groups : type => data.aws_ec2_instance_type.gpu[type].maximum_network_cards
    if g.multinode && data.aws_ec2_instance_type.gpu[type].efa_supported
  }
}

resource "aws_launch_template" "gpu" {
  for_each    = var.gpu_node_groups
  name_prefix = "${var.cluster_name}-${each.key}-"
  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }
  block_device_mappings {
    device_name = "/dev/xvda"
    ebs {
      volume_size           = each.value.disk_size_gb
      volume_type           = "gp3"
      delete_on_termination = true
    }
  }
  dynamic "network_interfaces" {
    for_each = contains(keys(local.efa_cards), each.key) ? range(local.efa_cards[each.key]) : []
    content {
      network_card_index    = network_interfaces.value
      device_index          = network_interfaces.value == 0 ? 0 : 1
      interface_type        = network_interfaces.value == 0 ? "efa" : "efa-only"
      delete_on_termination = true
      # EFA needs all traffic within its security group: the cluster's allows its members everything
      security_groups = [aws_eks_cluster.this.vpc_config[0].cluster_security_group_id]
    }
  }
  dynamic "placement" {
    for_each = contains(keys(var.placement_groups), each.key) ? [var.placement_groups[each.key]] : []
    content {
      group_name = placement.value
    }
  }
  # An EC2 Capacity Block for ML is launched into with the capacity-block market; an On-Demand Capacity
  # Reservation (ODCR) needs only its target. Either lives in one availability zone: the group keeps to it.
  dynamic "instance_market_options" {
    for_each = each.value.capacity_type == "CAPACITY_BLOCK" ? [1] : []
    content {
      market_type = "capacity-block"
    }
  }
  dynamic "capacity_reservation_specification" {
    for_each = each.value.capacity_reservation_id == null ? [] : [each.value.capacity_reservation_id]
    content {
      capacity_reservation_target {
        capacity_reservation_id = capacity_reservation_specification.value
      }
    }
  }
}

resource "aws_eks_node_group" "gpu" {
  for_each        = var.gpu_node_groups
  cluster_name    = aws_eks_cluster.this.name
  node_group_name = "gpu-${each.key}"
  node_role_arn   = aws_iam_role.nodes.arn
  # One availability zone per GPU type (its capacity, placement group and disks are zonal): the zone asked
  # for, else the first. The scheduler keeps a reservation with a disk in the disk's zone.
  subnet_ids     = [var.private_subnets_by_az[coalesce(each.value.availability_zone, keys(var.private_subnets_by_az)[0])]]
  instance_types = [each.value.instance_type]
  ami_type       = "AL2023_x86_64_NVIDIA"
  capacity_type  = each.value.capacity_type
  # May sit at zero (nothing billed); the processor or an operator sets the desired size within [0, max].
  scaling_config {
    desired_size = each.value.count
    # reserved capacity (an ODCR or a Capacity Block) is paid for whether used or not: never below it
    min_size = each.value.capacity_reservation_id == null ? 0 : each.value.count
    max_size = max(1, each.value.max_count, each.value.count)
  }
  launch_template {
    id      = aws_launch_template.gpu[each.key].id
    version = aws_launch_template.gpu[each.key].latest_version
  }
  labels = {
    GpuType               = each.key
    "gpudev.dev/gpus"     = tostring(each.value.gpus_per_node)
    "gpudev.dev/instance" = each.value.instance_type
  }
  taint {
    key    = "nvidia.com/gpu"
    value  = "present"
    effect = "NO_SCHEDULE"
  }
  lifecycle {
    # the desired size is the pool's to change at run time: an apply does not undo it
    ignore_changes = [scaling_config[0].desired_size]
  }
  # the CNI with network policies enforced is there before the first GPU node (a tenant's first pod is policed)
  depends_on = [aws_iam_role_policy_attachment.nodes, aws_eks_addon.vpc_cni]
}

resource "aws_eks_addon" "vpc_cni" {
  cluster_name = aws_eks_cluster.this.name
  addon_name   = "vpc-cni"
  # The environments' NetworkPolicies are enforced by the CNI's network policy agent. The cluster already runs
  # the self-managed CNI EKS installs: the add-on takes it over with these settings (OVERWRITE), or its
  # creation fails, or enableNetworkPolicy never applies and every NetworkPolicy is silently unenforced.
  configuration_values        = jsonencode({ enableNetworkPolicy = "true" })
  resolve_conflicts_on_create = "OVERWRITE"
  resolve_conflicts_on_update = "OVERWRITE"
}

resource "aws_eks_addon" "coredns" {
  cluster_name = aws_eks_cluster.this.name
  addon_name   = "coredns"
  depends_on   = [aws_eks_node_group.control_plane]
}

resource "aws_eks_addon" "kube_proxy" {
  cluster_name = aws_eks_cluster.this.name
  addon_name   = "kube-proxy"
}

resource "aws_iam_role" "ebs_csi" {
  name = "${var.cluster_name}-ebs-csi"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Federated = aws_iam_openid_connect_provider.this.arn }
      Action    = "sts:AssumeRoleWithWebIdentity"
      Condition = {
        StringEquals = {
          "${replace(aws_iam_openid_connect_provider.this.url, "https://", "")}:sub" = "system:serviceaccount:kube-system:ebs-csi-controller-sa"
        }
      }
    }]
  })
}

resource "aws_iam_role_policy_attachment" "ebs_csi" {
  role       = aws_iam_role.ebs_csi.name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"
}

resource "aws_eks_addon" "ebs_csi" {
  cluster_name             = aws_eks_cluster.this.name
  addon_name               = "aws-ebs-csi-driver"
  service_account_role_arn = aws_iam_role.ebs_csi.arn
  depends_on               = [aws_eks_node_group.control_plane]
}

# gp3 disks for homes and the platform's own volumes; snapshots through the CSI driver.
resource "kubernetes_storage_class_v1" "gp3" {
  metadata {
    name        = "gp3"
    annotations = { "storageclass.kubernetes.io/is-default-class" = "true" }
  }
  storage_provisioner    = "ebs.csi.aws.com"
  volume_binding_mode    = "WaitForFirstConsumer"
  allow_volume_expansion = true
  reclaim_policy         = "Retain"
  parameters             = { type = "gp3", encrypted = "true" }
  depends_on             = [aws_eks_addon.ebs_csi]
}

resource "helm_release" "device_plugin" {
  name             = "nvidia-device-plugin"
  repository       = "https://nvidia.github.io/k8s-device-plugin"
  chart            = "nvidia-device-plugin"
  version          = var.device_plugin_version
  namespace        = "nvidia-device-plugin"
  create_namespace = true
  values = [yamlencode({
    nodeSelector = {}
    affinity = {
      nodeAffinity = {
        requiredDuringSchedulingIgnoredDuringExecution = {
          nodeSelectorTerms = [{ matchExpressions = [{ key = "GpuType", operator = "Exists" }] }]
        }
      }
    }
    tolerations = [{ key = "nvidia.com/gpu", operator = "Exists", effect = "NoSchedule" }]
  })]
  depends_on = [aws_eks_node_group.gpu]
}

resource "helm_release" "efa_device_plugin" {
  count      = length(local.efa_cards) > 0 ? 1 : 0
  name       = "aws-efa-k8s-device-plugin"
  repository = "https://aws.github.io/eks-charts"
  chart      = "aws-efa-k8s-device-plugin"
  version    = var.efa_device_plugin_version
  namespace  = "kube-system"
  values = [yamlencode({
    tolerations = [{ key = "nvidia.com/gpu", operator = "Exists", effect = "NoSchedule" }]
  })]
  depends_on = [aws_eks_node_group.gpu]
}
