"""Server security tests: traversal, hostile uploads, snapshots, headers, Host/Origin and the token."""
