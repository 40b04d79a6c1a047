"""The fleet's registry: devices (provisioned, revoked), their groups, the fleet's users, the broker's files."""
