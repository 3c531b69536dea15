using Iced.Intel;
using Virt.Cpu.Decoding;
using Virt.Cpu.Simd;

namespace Virt.Cpu;

/// <summary>
/// The MMX, SSE integer, SSE2 integer, SSSE3, SSE4.1 integer and SSE4.2 family: the switch on the Code that
/// <see cref="ExecuteSimd"/> tries after the floating-point family. The operations themselves are the pure functions of
/// <see cref="PackedInteger"/>, <see cref="PackedStringCompare"/> and <see cref="Crc32C"/>; this file picks the operand
/// forms (Cpu.Simd.IntegerOperands.cs) and the moves and odd forms (Cpu.Simd.IntegerMoves.cs, Cpu.Simd.IntegerScalar.cs).
/// </summary>
public sealed unsafe partial class Cpu
{
    /// <summary>Executes an integer SIMD instruction.</summary>
    /// <returns>False when the code is not one of this family's.</returns>
    private bool TryExecuteSimdInteger(ref DecodedInstruction d)
    {
        switch (d.Code)
        {
            case Code.Paddb_mm_mmm64: return MmxBinary(ref d, &PackedInteger.Paddb);
            case Code.Paddb_xmm_xmmm128: return XmmBinary(ref d, &PackedInteger.Paddb);
            case Code.Paddw_mm_mmm64: return MmxBinary(ref d, &PackedInteger.Paddw);
            case Code.Paddw_xmm_xmmm128: return XmmBinary(ref d, &PackedInteger.Paddw);
            case Code.Paddd_mm_mmm64: return MmxBinary(ref d, &PackedInteger.Paddd);
            case Code.Paddd_xmm_xmmm128: return XmmBinary(ref d, &PackedInteger.Paddd);
            case Code.Paddq_mm_mmm64: return MmxBinary(ref d, &PackedInteger.Paddq);
            case Code.Paddq_xmm_xmmm128: return XmmBinary(ref d, &PackedInteger.Paddq);
            case Code.Psubb_mm_mmm64: return MmxBinary(ref d, &PackedInteger.Psubb);
            case Code.Psubb_xmm_xmmm128: return XmmBinary(ref d, &PackedInteger.Psubb);
            case Code.Psubw_mm_mmm64: return MmxBinary(ref d, &PackedInteger.Psubw);
            case Code.Psubw_xmm_xmmm128: return XmmBinary(ref d, &PackedInteger.Psubw);
            case Code.Psubd_mm_mmm64: return MmxBinary(ref d, &PackedInteger.Psubd);
            case Code.Psubd_xmm_xmmm128: return XmmBinary(ref d, &PackedInteger.Psubd);
            case Code.Psubq_mm_mmm64: return MmxBinary(ref d, &PackedInteger.Psubq);
            case Code.Psubq_xmm_xmmm128: return XmmBinary(ref d, &PackedInteger.Psubq);
            case Code.Paddsb_mm_mmm64: return MmxBinary(ref d, &PackedInteger.Paddsb);
            case Code.Paddsb_xmm_xmmm128: return XmmBinary(ref d, &PackedInteger.Paddsb);
            case Code.Paddsw_mm_mmm64: return MmxBinary(ref d, &PackedInteger.Paddsw);
            case Code.Paddsw_xmm_xmmm128: return XmmBinary(ref d, &PackedInteger.Paddsw);
            case Code.Paddusb_mm_mmm64: return MmxBinary(ref d, &PackedInteger.Paddusb);
            case Code.Paddusb_xmm_xmmm128: return XmmBinary(ref d, &PackedInteger.Paddusb);
            case Code.Paddusw_mm_mmm64: return MmxBinary(ref d, &PackedInteger.Paddusw);
            case Code.Paddusw_xmm_xmmm128: return XmmBinary(ref d, &PackedInteger.Paddusw);
            case Code.Psubsb_mm_mmm64: return MmxBinary(ref d, &PackedInteger.Psubsb);
            case Code.Psubsb_xmm_xmmm128: return XmmBinary(ref d, &PackedInteger.Psubsb);
            case Code.Psubsw_mm_mmm64: return MmxBinary(ref d, &PackedInteger.Psubsw);
            case Code.Psubsw_xmm_xmmm128: return XmmBinary(ref d, &PackedInteger.Psubsw);
            case Code.Psubusb_mm_mmm64: return MmxBinary(ref d, &PackedInteger.Psubusb);
            case Code.Psubusb_xmm_xmmm128: return XmmBinary(ref d, &PackedInteger.Psubusb);
            case Code.Psubusw_mm_mmm64: return MmxBinary(ref d, &PackedInteger.Psubusw);
            case Code.Psubusw_xmm_xmmm128: return XmmBinary(ref d, &PackedInteger.Psubusw);
            case Code.Pavgb_mm_mmm64: return MmxBinary(ref d, &PackedInteger.Pavgb);
            case Code.Pavgb_xmm_xmmm128: return XmmBinary(ref d, &PackedInteger.Pavgb);
            case Code.Pavgw_mm_mmm64: return MmxBinary(ref d, &PackedInteger.Pavgw);
            case Code.Pavgw_xmm_xmmm128: return XmmBinary(ref d, &PackedInteger.Pavgw);
            case Code.Pmaxsw_mm_mmm64: return MmxBinary(ref d, &PackedInteger.Pmaxsw);
            case Code.Pmaxsw_xmm_xmmm128: return XmmBinary(ref d, &PackedInteger.Pmaxsw);
            case Code.Pmaxub_mm_mmm64: return MmxBinary(ref d, &PackedInteger.Pmaxub);
            case Code.Pmaxub_xmm_xmmm128: return XmmBinary(ref d, &PackedInteger.Pmaxub);
            case Code.Pminsw_mm_mmm64: return MmxBinary(ref d, &PackedInteger.Pminsw);
            case Code.Pminsw_xmm_xmmm128: return XmmBinary(ref d, &PackedInteger.Pminsw);
            case Code.Pminub_mm_mmm64: return MmxBinary(ref d, &PackedInteger.Pminub);
            case Code.Pminub_xmm_xmmm128: return XmmBinary(ref d, &PackedInteger.Pminub);
            case Code.Pcmpeqb_mm_mmm64: return MmxBinary(ref d, &PackedInteger.Pcmpeqb);
            case Code.Pcmpeqb_xmm_xmmm128: return XmmBinary(ref d, &PackedInteger.Pcmpeqb);
            case Code.Pcmpeqw_mm_mmm64: return MmxBinary(ref d, &PackedInteger.Pcmpeqw);
            case Code.Pcmpeqw_xmm_xmmm128: return XmmBinary(ref d, &PackedInteger.Pcmpeqw);
            case Code.Pcmpeqd_mm_mmm64: return MmxBinary(ref d, &PackedInteger.Pcmpeqd);
            case Code.Pcmpeqd_xmm_xmmm128: return XmmBinary(ref d, &PackedInteger.Pcmpeqd);
            case Code.Pcmpgtb_mm_mmm64: return MmxBinary(ref d, &PackedInteger.Pcmpgtb);
            case Code.Pcmpgtb_xmm_xmmm128: return XmmBinary(ref d, &PackedInteger.Pcmpgtb);
            case Code.Pcmpgtw_mm_mmm64: return MmxBinary(ref d, &PackedInteger.Pcmpgtw);
            case Code.Pcmpgtw_xmm_xmmm128: return XmmBinary(ref d, &PackedInteger.Pcmpgtw);
            case Code.Pcmpgtd_mm_mmm64: return MmxBinary(ref d, &PackedInteger.Pcmpgtd);
            case Code.Pcmpgtd_xmm_xmmm128: return XmmBinary(ref d, &PackedInteger.Pcmpgtd);
            case Code.Pand_mm_mmm64: return MmxBinary(ref d, &PackedInteger.Pand);
            case Code.Pand_xmm_xmmm128: return XmmBinary(ref d, &PackedInteger.Pand);
            case Code.Pandn_mm_mmm64: return MmxBinary(ref d, &PackedInteger.Pandn);
            case Code.Pandn_xmm_xmmm128: return XmmBinary(ref d, &PackedInteger.Pandn);
            case Code.Por_mm_mmm64: return MmxBinary(ref d, &PackedInteger.Por);
            case Code.Por_xmm_xmmm128: return XmmBinary(ref d, &PackedInteger.Por);
            case Code.Pxor_mm_mmm64: return MmxBinary(ref d, &PackedInteger.Pxor);
            case Code.Pxor_xmm_xmmm128: return XmmBinary(ref d, &PackedInteger.Pxor);
            case Code.Pmullw_mm_mmm64: return MmxBinary(ref d, &PackedInteger.Pmullw);
            case Code.Pmullw_xmm_xmmm128: return XmmBinary(ref d, &PackedInteger.Pmullw);
            case Code.Pmulhw_mm_mmm64: return MmxBinary(ref d, &PackedInteger.Pmulhw);
            case Code.Pmulhw_xmm_xmmm128: return XmmBinary(ref d, &PackedInteger.Pmulhw);
            case Code.Pmulhuw_mm_mmm64: return MmxBinary(ref d, &PackedInteger.Pmulhuw);
            case Code.Pmulhuw_xmm_xmmm128: return XmmBinary(ref d, &PackedInteger.Pmulhuw);
            case Code.Pmuludq_mm_mmm64: return MmxBinary(ref d, &PackedInteger.Pmuludq);
            case Code.Pmuludq_xmm_xmmm128: return XmmBinary(ref d, &PackedInteger.Pmuludq);
            case Code.Pmaddwd_mm_mmm64: return MmxBinary(ref d, &PackedInteger.Pmaddwd);
            case Code.Pmaddwd_xmm_xmmm128: return XmmBinary(ref d, &PackedInteger.Pmaddwd);
            case Code.Psadbw_mm_mmm64: return MmxBinary(ref d, &PackedInteger.Psadbw);
            case Code.Psadbw_xmm_xmmm128: return XmmBinary(ref d, &PackedInteger.Psadbw);
            case Code.Packsswb_mm_mmm64: return MmxBinary(ref d, &PackedInteger.Packsswb);
            case Code.Packsswb_xmm_xmmm128: return XmmBinary(ref d, &PackedInteger.Packsswb);
            case Code.Packssdw_mm_mmm64: return MmxBinary(ref d, &PackedInteger.Packssdw);
            case Code.Packssdw_xmm_xmmm128: return XmmBinary(ref d, &PackedInteger.Packssdw);
            case Code.Packuswb_mm_mmm64: return MmxBinary(ref d, &PackedInteger.Packuswb);
            case Code.Packuswb_xmm_xmmm128: return XmmBinary(ref d, &PackedInteger.Packuswb);
            case Code.Punpckhbw_mm_mmm64: return MmxBinary(ref d, &PackedInteger.Punpckhbw);
            case Code.Punpckhbw_xmm_xmmm128: return XmmBinary(ref d, &PackedInteger.Punpckhbw);
            case Code.Punpckhwd_mm_mmm64: return MmxBinary(ref d, &PackedInteger.Punpckhwd);
            case Code.Punpckhwd_xmm_xmmm128: return XmmBinary(ref d, &PackedInteger.Punpckhwd);
            case Code.Punpckhdq_mm_mmm64: return MmxBinary(ref d, &PackedInteger.Punpckhdq);
            case Code.Punpckhdq_xmm_xmmm128: return XmmBinary(ref d, &PackedInteger.Punpckhdq);
            case Code.Pshufb_mm_mmm64: return MmxBinary(ref d, &PackedInteger.Pshufb);
            case Code.Pshufb_xmm_xmmm128: return XmmBinary(ref d, &PackedInteger.Pshufb);
            case Code.Phaddw_mm_mmm64: return MmxBinary(ref d, &PackedInteger.Phaddw);
            case Code.Phaddw_xmm_xmmm128: return XmmBinary(ref d, &PackedInteger.Phaddw);
            case Code.Phaddd_mm_mmm64: return MmxBinary(ref d, &PackedInteger.Phaddd);
            case Code.Phaddd_xmm_xmmm128: return XmmBinary(ref d, &PackedInteger.Phaddd);
            case Code.Phaddsw_mm_mmm64: return MmxBinary(ref d, &PackedInteger.Phaddsw);
            case Code.Phaddsw_xmm_xmmm128: return XmmBinary(ref d, &PackedInteger.Phaddsw);
            case Code.Phsubw_mm_mmm64: return MmxBinary(ref d, &PackedInteger.Phsubw);
            case Code.Phsubw_xmm_xmmm128: return XmmBinary(ref d, &PackedInteger.Phsubw);
            case Code.Phsubd_mm_mmm64: return MmxBinary(ref d, &PackedInteger.Phsubd);
            case Code.Phsubd_xmm_xmmm128: return XmmBinary(ref d, &PackedInteger.Phsubd);
            case Code.Phsubsw_mm_mmm64: return MmxBinary(ref d, &PackedInteger.Phsubsw);
            case Code.Phsubsw_xmm_xmmm128: return XmmBinary(ref d, &PackedInteger.Phsubsw);
            case Code.Pmaddubsw_mm_mmm64: return MmxBinary(ref d, &PackedInteger.Pmaddubsw);
            case Code.Pmaddubsw_xmm_xmmm128: return XmmBinary(ref d, &PackedInteger.Pmaddubsw);
            case Code.Pmulhrsw_mm_mmm64: return MmxBinary(ref d, &PackedInteger.Pmulhrsw);
            case Code.Pmulhrsw_xmm_xmmm128: return XmmBinary(ref d, &PackedInteger.Pmulhrsw);
            case Code.Psignb_mm_mmm64: return MmxBinary(ref d, &PackedInteger.Psignb);
            case Code.Psignb_xmm_xmmm128: return XmmBinary(ref d, &PackedInteger.Psignb);
            case Code.Psignw_mm_mmm64: return MmxBinary(ref d, &PackedInteger.Psignw);
            case Code.Psignw_xmm_xmmm128: return XmmBinary(ref d, &PackedInteger.Psignw);
            case Code.Psignd_mm_mmm64: return MmxBinary(ref d, &PackedInteger.Psignd);
            case Code.Psignd_xmm_xmmm128: return XmmBinary(ref d, &PackedInteger.Psignd);
            case Code.Pabsb_mm_mmm64: return MmxBinary(ref d, &PackedInteger.Pabsb);
            case Code.Pabsb_xmm_xmmm128: return XmmBinary(ref d, &PackedInteger.Pabsb);
            case Code.Pabsw_mm_mmm64: return MmxBinary(ref d, &PackedInteger.Pabsw);
            case Code.Pabsw_xmm_xmmm128: return XmmBinary(ref d, &PackedInteger.Pabsw);
            case Code.Pabsd_mm_mmm64: return MmxBinary(ref d, &PackedInteger.Pabsd);
            case Code.Pabsd_xmm_xmmm128: return XmmBinary(ref d, &PackedInteger.Pabsd);
            case Code.Punpcklbw_mm_mmm32: return MmxBinary(ref d, &PackedInteger.Punpcklbw, memorySize: 4);
            case Code.Punpcklwd_mm_mmm32: return MmxBinary(ref d, &PackedInteger.Punpcklwd, memorySize: 4);
            case Code.Punpckldq_mm_mmm32: return MmxBinary(ref d, &PackedInteger.Punpckldq, memorySize: 4);
            case Code.Punpcklbw_xmm_xmmm128: return XmmBinary(ref d, &PackedInteger.Punpcklbw);
            case Code.Punpcklwd_xmm_xmmm128: return XmmBinary(ref d, &PackedInteger.Punpcklwd);
            case Code.Punpckldq_xmm_xmmm128: return XmmBinary(ref d, &PackedInteger.Punpckldq);
            case Code.Punpcklqdq_xmm_xmmm128: return XmmBinary(ref d, &PackedInteger.Punpcklqdq);
            case Code.Punpckhqdq_xmm_xmmm128: return XmmBinary(ref d, &PackedInteger.Punpckhqdq);
            case Code.Pmuldq_xmm_xmmm128: return XmmBinary(ref d, &PackedInteger.Pmuldq);
            case Code.Pcmpeqq_xmm_xmmm128: return XmmBinary(ref d, &PackedInteger.Pcmpeqq);
            case Code.Packusdw_xmm_xmmm128: return XmmBinary(ref d, &PackedInteger.Packusdw);
            case Code.Pcmpgtq_xmm_xmmm128: return XmmBinary(ref d, &PackedInteger.Pcmpgtq);
            case Code.Pminsb_xmm_xmmm128: return XmmBinary(ref d, &PackedInteger.Pminsb);
            case Code.Pminsd_xmm_xmmm128: return XmmBinary(ref d, &PackedInteger.Pminsd);
            case Code.Pminuw_xmm_xmmm128: return XmmBinary(ref d, &PackedInteger.Pminuw);
            case Code.Pminud_xmm_xmmm128: return XmmBinary(ref d, &PackedInteger.Pminud);
            case Code.Pmaxsb_xmm_xmmm128: return XmmBinary(ref d, &PackedInteger.Pmaxsb);
            case Code.Pmaxsd_xmm_xmmm128: return XmmBinary(ref d, &PackedInteger.Pmaxsd);
            case Code.Pmaxuw_xmm_xmmm128: return XmmBinary(ref d, &PackedInteger.Pmaxuw);
            case Code.Pmaxud_xmm_xmmm128: return XmmBinary(ref d, &PackedInteger.Pmaxud);
            case Code.Pmulld_xmm_xmmm128: return XmmBinary(ref d, &PackedInteger.Pmulld);
            case Code.Phminposuw_xmm_xmmm128: return XmmBinary(ref d, &PackedInteger.Phminposuw);
            case Code.Psrlw_mm_mmm64: return MmxShift(ref d, &PackedInteger.Psrlw);
            case Code.Psrlw_xmm_xmmm128: return XmmShift(ref d, &PackedInteger.Psrlw);
            case Code.Psrlw_mm_imm8: return MmxShift(ref d, &PackedInteger.Psrlw);
            case Code.Psrlw_xmm_imm8: return XmmShift(ref d, &PackedInteger.Psrlw);
            case Code.Psrld_mm_mmm64: return MmxShift(ref d, &PackedInteger.Psrld);
            case Code.Psrld_xmm_xmmm128: return XmmShift(ref d, &PackedInteger.Psrld);
            case Code.Psrld_mm_imm8: return MmxShift(ref d, &PackedInteger.Psrld);
            case Code.Psrld_xmm_imm8: return XmmShift(ref d, &PackedInteger.Psrld);
            case Code.Psrlq_mm_mmm64: return MmxShift(ref d, &PackedInteger.Psrlq);
            case Code.Psrlq_xmm_xmmm128: return XmmShift(ref d, &PackedInteger.Psrlq);
            case Code.Psrlq_mm_imm8: return MmxShift(ref d, &PackedInteger.Psrlq);
            case Code.Psrlq_xmm_imm8: return XmmShift(ref d, &PackedInteger.Psrlq);
            case Code.Psraw_mm_mmm64: return MmxShift(ref d, &PackedInteger.Psraw);
            case Code.Psraw_xmm_xmmm128: return XmmShift(ref d, &PackedInteger.Psraw);
            case Code.Psraw_mm_imm8: return MmxShift(ref d, &PackedInteger.Psraw);
            case Code.Psraw_xmm_imm8: return XmmShift(ref d, &PackedInteger.Psraw);
            case Code.Psrad_mm_mmm64: return MmxShift(ref d, &PackedInteger.Psrad);
            case Code.Psrad_xmm_xmmm128: return XmmShift(ref d, &PackedInteger.Psrad);
            case Code.Psrad_mm_imm8: return MmxShift(ref d, &PackedInteger.Psrad);
            case Code.Psrad_xmm_imm8: return XmmShift(ref d, &PackedInteger.Psrad);
            case Code.Psllw_mm_mmm64: return MmxShift(ref d, &PackedInteger.Psllw);
            case Code.Psllw_xmm_xmmm128: return XmmShift(ref d, &PackedInteger.Psllw);
            case Code.Psllw_mm_imm8: return MmxShift(ref d, &PackedInteger.Psllw);
            case Code.Psllw_xmm_imm8: return XmmShift(ref d, &PackedInteger.Psllw);
            case Code.Pslld_mm_mmm64: return MmxShift(ref d, &PackedInteger.Pslld);
            case Code.Pslld_xmm_xmmm128: return XmmShift(ref d, &PackedInteger.Pslld);
            case Code.Pslld_mm_imm8: return MmxShift(ref d, &PackedInteger.Pslld);
            case Code.Pslld_xmm_imm8: return XmmShift(ref d, &PackedInteger.Pslld);
            case Code.Psllq_mm_mmm64: return MmxShift(ref d, &PackedInteger.Psllq);
            case Code.Psllq_xmm_xmmm128: return XmmShift(ref d, &PackedInteger.Psllq);
            case Code.Psllq_mm_imm8: return MmxShift(ref d, &PackedInteger.Psllq);
            case Code.Psllq_xmm_imm8: return XmmShift(ref d, &PackedInteger.Psllq);

            case Code.Psrldq_xmm_imm8: return XmmByteShift(ref d, &PackedInteger.Psrldq);
            case Code.Pslldq_xmm_imm8: return XmmByteShift(ref d, &PackedInteger.Pslldq);

            case Code.Pshufw_mm_mmm64_imm8: return MmxImmediate(ref d, &PackedInteger.Pshufw);
            case Code.Palignr_mm_mmm64_imm8: return MmxImmediate(ref d, &PackedInteger.Palignr);
            case Code.Pshufd_xmm_xmmm128_imm8: return XmmImmediate(ref d, &PackedInteger.Pshufd);
            case Code.Pshufhw_xmm_xmmm128_imm8: return XmmImmediate(ref d, &PackedInteger.Pshufhw);
            case Code.Pshuflw_xmm_xmmm128_imm8: return XmmImmediate(ref d, &PackedInteger.Pshuflw);
            case Code.Palignr_xmm_xmmm128_imm8: return XmmImmediate(ref d, &PackedInteger.Palignr);
            case Code.Pblendw_xmm_xmmm128_imm8: return XmmImmediate(ref d, &PackedInteger.Pblendw);
            case Code.Mpsadbw_xmm_xmmm128_imm8: return XmmImmediate(ref d, &PackedInteger.Mpsadbw);

            case Code.Pmovsxbw_xmm_xmmm64: return XmmExtend(ref d, 1, 2, signed: true);
            case Code.Pmovsxbd_xmm_xmmm32: return XmmExtend(ref d, 1, 4, signed: true);
            case Code.Pmovsxbq_xmm_xmmm16: return XmmExtend(ref d, 1, 8, signed: true);
            case Code.Pmovsxwd_xmm_xmmm64: return XmmExtend(ref d, 2, 4, signed: true);
            case Code.Pmovsxwq_xmm_xmmm32: return XmmExtend(ref d, 2, 8, signed: true);
            case Code.Pmovsxdq_xmm_xmmm64: return XmmExtend(ref d, 4, 8, signed: true);
            case Code.Pmovzxbw_xmm_xmmm64: return XmmExtend(ref d, 1, 2, signed: false);
            case Code.Pmovzxbd_xmm_xmmm32: return XmmExtend(ref d, 1, 4, signed: false);
            case Code.Pmovzxbq_xmm_xmmm16: return XmmExtend(ref d, 1, 8, signed: false);
            case Code.Pmovzxwd_xmm_xmmm64: return XmmExtend(ref d, 2, 4, signed: false);
            case Code.Pmovzxwq_xmm_xmmm32: return XmmExtend(ref d, 2, 8, signed: false);
            case Code.Pmovzxdq_xmm_xmmm64: return XmmExtend(ref d, 4, 8, signed: false);

            case Code.Pblendvb_xmm_xmmm128: return ExecutePblendvb(ref d);
            case Code.Ptest_xmm_xmmm128: return ExecutePtest(ref d);
            case Code.Pcmpestri_xmm_xmmm128_imm8: return ExecuteStringCompare(ref d, explicitLength: true, index: true, wide: false);
            case Code.Pcmpestri64_xmm_xmmm128_imm8: return ExecuteStringCompare(ref d, explicitLength: true, index: true, wide: true);
            case Code.Pcmpestrm_xmm_xmmm128_imm8: return ExecuteStringCompare(ref d, explicitLength: true, index: false, wide: false);
            case Code.Pcmpestrm64_xmm_xmmm128_imm8: return ExecuteStringCompare(ref d, explicitLength: true, index: false, wide: true);
            case Code.Pcmpistri_xmm_xmmm128_imm8: return ExecuteStringCompare(ref d, explicitLength: false, index: true, wide: false);
            case Code.Pcmpistrm_xmm_xmmm128_imm8: return ExecuteStringCompare(ref d, explicitLength: false, index: false, wide: false);

            case Code.Pmovmskb_r32_mm:
            case Code.Pmovmskb_r64_mm:
            case Code.Pmovmskb_r32_xmm:
            case Code.Pmovmskb_r64_xmm:
                return ExecutePmovmskb(ref d);
            case Code.Pextrw_r32_mm_imm8:
            case Code.Pextrw_r64_mm_imm8:
                return ExecutePextr(ref d, laneBytes: 2, mmx: true);
            case Code.Pextrw_r32_xmm_imm8:
            case Code.Pextrw_r64_xmm_imm8:
            case Code.Pextrw_r32m16_xmm_imm8:
            case Code.Pextrw_r64m16_xmm_imm8:
                return ExecutePextr(ref d, laneBytes: 2, mmx: false);
            case Code.Pextrb_r32m8_xmm_imm8:
            case Code.Pextrb_r64m8_xmm_imm8:
                return ExecutePextr(ref d, laneBytes: 1, mmx: false);
            case Code.Pextrd_rm32_xmm_imm8: return ExecutePextr(ref d, laneBytes: 4, mmx: false);
            case Code.Pextrq_rm64_xmm_imm8: return ExecutePextr(ref d, laneBytes: 8, mmx: false);
            case Code.Pinsrw_mm_r32m16_imm8:
            case Code.Pinsrw_mm_r64m16_imm8:
                return ExecutePinsr(ref d, laneBytes: 2, mmx: true);
            case Code.Pinsrw_xmm_r32m16_imm8:
            case Code.Pinsrw_xmm_r64m16_imm8:
                return ExecutePinsr(ref d, laneBytes: 2, mmx: false);
            case Code.Pinsrb_xmm_r32m8_imm8:
            case Code.Pinsrb_xmm_r64m8_imm8:
                return ExecutePinsr(ref d, laneBytes: 1, mmx: false);
            case Code.Pinsrd_xmm_rm32_imm8: return ExecutePinsr(ref d, laneBytes: 4, mmx: false);
            case Code.Pinsrq_xmm_rm64_imm8: return ExecutePinsr(ref d, laneBytes: 8, mmx: false);

            case Code.Emms: return ExecuteEmms();
            case Code.Movd_mm_rm32:
            case Code.Movq_mm_rm64:
                return ExecuteMovToMmx(ref d);
            case Code.Movd_rm32_mm:
            case Code.Movq_rm64_mm:
            case Code.Movq_mmm64_mm:
            case Code.Movntq_m64_mm:
                return ExecuteMovFromMmx(ref d);
            case Code.Movq_mm_mmm64: return ExecuteMovToMmx(ref d);
            case Code.Movd_xmm_rm32:
            case Code.Movq_xmm_rm64:
            case Code.Movq_xmm_xmmm64:
                return ExecuteMovZeroExtendToXmm(ref d);
            case Code.Movd_rm32_xmm:
            case Code.Movq_rm64_xmm:
            case Code.Movq_xmmm64_xmm:
                return ExecuteMovFromXmmLow(ref d);
            case Code.Movdqa_xmm_xmmm128:
            case Code.Movntdqa_xmm_m128:
                return ExecuteMovToXmm(ref d, aligned: true);
            case Code.Movdqu_xmm_xmmm128:
            case Code.Lddqu_xmm_m128:
                return ExecuteMovToXmm(ref d, aligned: false);
            case Code.Movdqa_xmmm128_xmm:
            case Code.Movntdq_m128_xmm:
                return ExecuteMovFromXmm(ref d, aligned: true);
            case Code.Movdqu_xmmm128_xmm: return ExecuteMovFromXmm(ref d, aligned: false);
            case Code.Movq2dq_xmm_mm: return ExecuteMovq2dq(ref d);
            case Code.Movdq2q_mm_xmm: return ExecuteMovdq2q(ref d);
            case Code.Movnti_m32_r32:
            case Code.Movnti_m64_r64:
                return ExecuteMovnti(ref d);
            case Code.Maskmovq_rDI_mm_mm: return ExecuteMaskedMove(ref d, mmx: true);
            case Code.Maskmovdqu_rDI_xmm_xmm: return ExecuteMaskedMove(ref d, mmx: false);

            case Code.Crc32_r32_rm8:
            case Code.Crc32_r64_rm8:
            case Code.Crc32_r32_rm16:
            case Code.Crc32_r32_rm32:
            case Code.Crc32_r64_rm64:
                return ExecuteCrc32(ref d);
            case Code.Popcnt_r16_rm16:
            case Code.Popcnt_r32_rm32:
            case Code.Popcnt_r64_rm64:
                return ExecutePopcnt(ref d);
            case Code.Clflush_m8: return ExecuteClflush(ref d);
            default:
                return false;
        }
    }
}
