module github.com/sluicehq/sluice/examples

go 1.26.0

replace github.com/sluicehq/sluice => ../

require go.uber.org/goleak v1.3.0

require github.com/stretchr/testify v1.11.1 // indirect
