//go:build amd64 && !purego

#include "textflag.h"

// func mul4x16FMA(k int, z *float32, ldz int, panel *float32, out *float32, ldo int)
// out[r*ldo+t] = Σ_{f<k} z[r*ldz+f] · panel[f*16+t] for r < 4, t < 16, the
// sum taken in f order with one fused multiply-add per term (overwrites out).
TEXT ·mul4x16FMA(SB), NOSPLIT, $0-48
	MOVQ k+0(FP), CX
	MOVQ z+8(FP), SI
	MOVQ ldz+16(FP), DX
	SHLQ $2, DX
	MOVQ panel+24(FP), DI
	MOVQ out+32(FP), R8
	MOVQ ldo+40(FP), R9
	SHLQ $2, R9
	LEAQ (SI)(DX*1), R10
	LEAQ (R10)(DX*1), R11
	LEAQ (R11)(DX*1), R12
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	TESTQ CX, CX
	JZ    store

loop:
	VMOVUPS      (DI), Y8
	VMOVUPS      32(DI), Y9
	VBROADCASTSS (SI), Y10
	VFMADD231PS  Y8, Y10, Y0
	VFMADD231PS  Y9, Y10, Y1
	VBROADCASTSS (R10), Y11
	VFMADD231PS  Y8, Y11, Y2
	VFMADD231PS  Y9, Y11, Y3
	VBROADCASTSS (R11), Y12
	VFMADD231PS  Y8, Y12, Y4
	VFMADD231PS  Y9, Y12, Y5
	VBROADCASTSS (R12), Y13
	VFMADD231PS  Y8, Y13, Y6
	VFMADD231PS  Y9, Y13, Y7
	ADDQ         $64, DI
	ADDQ         $4, SI
	ADDQ         $4, R10
	ADDQ         $4, R11
	ADDQ         $4, R12
	DECQ         CX
	JNZ          loop

store:
	VMOVUPS Y0, (R8)
	VMOVUPS Y1, 32(R8)
	ADDQ    R9, R8
	VMOVUPS Y2, (R8)
	VMOVUPS Y3, 32(R8)
	ADDQ    R9, R8
	VMOVUPS Y4, (R8)
	VMOVUPS Y5, 32(R8)
	ADDQ    R9, R8
	VMOVUPS Y6, (R8)
	VMOVUPS Y7, 32(R8)
	VZEROUPPER
	RET
