module github.com/authkit/authkit

go 1.26.0

require (
	github.com/stretchr/testify v1.12.1
	github.com/ua-parser/uap-go v0.0.0-20260529044130-17c35e68e58c
	github.com/wneessen/go-mail v0.8.1
	golang.org/x/crypto v0.58.0
)

require (
	github.com/hashicorp/golang-lru v1.0.2 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
	golang.org/x/sys v0.49.0 // indirect
	golang.org/x/text v0.43.0 // indirect
	gopkg.in/yaml.v3 v3.0.1 // indirect
)
