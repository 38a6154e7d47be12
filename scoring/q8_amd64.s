//go:build amd64 && !purego

#include "textflag.h"

// func dotsI8AVX2(dst []float32, q []int8, zq16 []int16, stride int)
// For each row r < len(dst): dst[r] = float32(Σ_c int32(q[r*stride+c]) * int32(zq16[c])).
TEXT ·dotsI8AVX2(SB), NOSPLIT, $0-80
	MOVQ dst_base+0(FP), DI
	MOVQ dst_len+8(FP), CX
	MOVQ q_base+24(FP), SI
	MOVQ zq16_base+48(FP), DX
	MOVQ stride+72(FP), R8
	TESTQ CX, CX
	JZ   done

row:
	VPXOR Y0, Y0, Y0
	VPXOR Y1, Y1, Y1
	XORQ  AX, AX
	MOVQ  DX, R9

inner:
	VPMOVSXBW (SI)(AX*1), Y2
	VPMADDWD  (R9), Y2, Y2
	VPADDD    Y2, Y0, Y0
	VPMOVSXBW 16(SI)(AX*1), Y3
	VPMADDWD  32(R9), Y3, Y3
	VPADDD    Y3, Y1, Y1
	ADDQ      $32, AX
	ADDQ      $64, R9
	CMPQ      AX, R8
	JLT       inner

	VPADDD       Y1, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPADDD       X1, X0, X0
	VPSHUFD      $0x4E, X0, X1
	VPADDD       X1, X0, X0
	VPSHUFD      $0xB1, X0, X1
	VPADDD       X1, X0, X0
	VCVTDQ2PS    X0, X0
	VMOVSS       X0, (DI)
	ADDQ         R8, SI
	ADDQ         $4, DI
	DECQ         CX
	JNZ          row

done:
	VZEROUPPER
	RET

// func dotsI8VNNI(dst []float32, q []int8, zq []int8, stride int, bias int32)
// For each row r < len(dst): dst[r] = float32(Σ_c uint8(q[r*stride+c]^0x80) * int32(zq[c]) - bias)
// with bias = 128·Σ_c zq[c], which is Σ_c q·zq exactly (q^0x80 = q+128 as a
// byte). One VPDPBUSD does 64 multiply-adds into 16 int32 lanes.
TEXT ·dotsI8VNNI(SB), NOSPLIT, $0-84
	MOVQ dst_base+0(FP), DI
	MOVQ dst_len+8(FP), CX
	MOVQ q_base+24(FP), SI
	MOVQ zq_base+48(FP), DX
	MOVQ stride+72(FP), R8
	MOVL bias+80(FP), R10
	TESTQ CX, CX
	JZ    vdone
	MOVL         $0x80808080, R11
	VPBROADCASTD R11, Z6
	VMOVD        R10, X7

vrow:
	VPXORD Z0, Z0, Z0
	VPXORD Z2, Z2, Z2
	XORQ   AX, AX
	MOVQ   R8, R9
	ANDQ   $-128, R9
	JZ     vtail

vinner:
	VPXORD   (SI)(AX*1), Z6, Z1
	VPDPBUSD (DX)(AX*1), Z1, Z0
	VPXORD   64(SI)(AX*1), Z6, Z3
	VPDPBUSD 64(DX)(AX*1), Z3, Z2
	ADDQ     $128, AX
	CMPQ     AX, R9
	JLT      vinner

vtail:
	CMPQ     AX, R8
	JGE      vreduce
	VPXORD   (SI)(AX*1), Z6, Z1
	VPDPBUSD (DX)(AX*1), Z1, Z0

vreduce:
	VPADDD        Z2, Z0, Z0
	VEXTRACTI64X4 $1, Z0, Y1
	VPADDD        Y1, Y0, Y0
	VEXTRACTI128  $1, Y0, X1
	VPADDD        X1, X0, X0
	VPSHUFD       $0x4E, X0, X1
	VPADDD        X1, X0, X0
	VPSHUFD       $0xB1, X0, X1
	VPADDD        X1, X0, X0
	VPSUBD        X7, X0, X0
	VCVTDQ2PS     X0, X0
	VMOVSS        X0, (DI)
	ADDQ          R8, SI
	ADDQ          $4, DI
	DECQ          CX
	JNZ           vrow

vdone:
	VZEROUPPER
	RET
