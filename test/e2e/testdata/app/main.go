// Command app prints the platform it was compiled for; the e2e tests build
// it for two platforms and check each image's binary.
package main

import (
	"fmt"
	"runtime"
)

func main() { fmt.Println("hello from", runtime.GOOS+"/"+runtime.GOARCH) }
