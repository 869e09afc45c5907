package validutf8_test

import (
	"fmt"

	"github.com/sluicehq/sluice/internal/validutf8"
)

func ExampleString() {
	fmt.Printf("%+q\n", validutf8.String([]byte("gpt-\xff\xfe")))
	// Output: "gpt-\ufffd\ufffd"
}
