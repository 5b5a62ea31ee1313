output "vpc_id" {
  value = aws_vpc.this.id
}

output "private_subnet_ids" {
  value = aws_subnet.private[*].id
}

output "public_subnet_ids" {
  value = aws_subnet.public[*].id
}

output "placement_groups" {
  description = "Placement group names by GPU type (only types whose reservations span nodes)."
  value       = { for type, pg in aws_placement_group.gpu : type => pg.name }
}
