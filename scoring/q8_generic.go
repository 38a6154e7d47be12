package scoring

func dotsI8Impl(dst []float32, q, zq []int8, stride int) { dotsI8Ref(dst, q, zq, stride) }
