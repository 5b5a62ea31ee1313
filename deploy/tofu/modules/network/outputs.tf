output "vpc_id" {
  value = aws_vpc.this.id
}

output "private_subnet_ids" {
  value = aws_subnet.private[*].id
}

output "private_subnets_by_az" {
  description = "The private subnet of each availability zone."
  value       = { for sn in aws_subnet.private : sn.availability_zone => sn.id }
}

output "public_subnet_ids" {
  value = aws_subnet.public[*].id
}

output "placement_groups" {
  description = "Placement group names by GPU type (only types whose reservations span nodes)."
  value       = { for type, pg in aws_placement_group.gpu : type => pg.name }
}
