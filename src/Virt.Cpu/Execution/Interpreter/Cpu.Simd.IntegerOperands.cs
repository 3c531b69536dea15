using System.Runtime.InteropServices;
using Virt.Cpu.Decoding;
using Virt.Cpu.Simd;
using Virt.Cpu.X87;

namespace Virt.Cpu;

/// <summary>
/// The operand forms of the integer SIMD family: MMX registers (aliased on the x87 registers), the "register op= register or
/// memory" forms of both widths, the shifts by register or immediate, and the forms with an immediate.
/// </summary>
public sealed unsafe partial class Cpu
{
    /// <summary>
    /// The sign and exponent an MMX write leaves in bits 64-79 of the x87 register: all ones, so the value reads as a NaN or
    /// infinity to x87 code (Intel SDM Vol. 1, 9.5.1 "MMX Instructions and the x87 FPU Tag Word").
    /// </summary>
    private const ushort MmxSignExponent = 0xFFFF;

    /// <summary>The abridged tag word with every register valid (non-empty).</summary>
    private const byte MmxAllTagsValid = 0xFF;

    /// <summary>The abridged tag word with every register empty (EMMS).</summary>
    private const byte MmxAllTagsEmpty = 0x00;

    /// <summary>The legacy-SSE rule for m128 operands of packed instructions: 16-byte alignment, else #GP(0).</summary>
    private const bool PackedOperandsAligned = true;

    /// <summary>MMX register <paramref name="register"/>: the significand of physical x87 register R<paramref name="register"/>.</summary>
    private ulong MmRead(int register) => _fpu.Physical(register).Significand;

    /// <summary>Writes an MMX register: the 64 bits into the significand, ones into sign and exponent.</summary>
    private void MmWrite(int register, ulong value) => _fpu.Physical(register) = new Float80(MmxSignExponent, value);

    /// <summary>
    /// The x87-to-MMX transition every MMX instruction but EMMS makes: TOP = 0 and every tag valid (Intel SDM Vol. 1, 9.5.1 and
    /// Table 9-3).
    /// </summary>
    private void MmxTransition()
    {
        _fpu.Top = 0;
        _fpu.AbridgedTagWord = MmxAllTagsValid;
    }

    private static Span<byte> Bytes(ref UInt128 value) => MemoryMarshal.AsBytes(new Span<UInt128>(ref value));

    private static Span<byte> Bytes(ref ulong value) => MemoryMarshal.AsBytes(new Span<ulong>(ref value));

    /// <summary>Operand 1 of an MMX instruction: an MMX register or <paramref name="memorySize"/> bytes of memory.</summary>
    /// <returns>False when the memory access faulted.</returns>
    private bool MmxSource(ref DecodedInstruction d, int memorySize, out ulong value)
    {
        if (d.Kind1 == OperandKind.Memory)
        {
            return SimdReadMemory(ref d, memorySize, out value);
        }

        value = MmRead(d.Reg1);
        return true;
    }

    /// <summary>
    /// Operand 1 of an XMM instruction whose memory form is narrower than 16 bytes (PMOVSX m64, MOVQ m64 ...): an XMM register,
    /// or <paramref name="memorySize"/> bytes of memory zero-extended, with no alignment check.
    /// </summary>
    private bool XmmSourceNarrow(ref DecodedInstruction d, int memorySize, out UInt128 value)
    {
        if (d.Kind1 == OperandKind.Memory)
        {
            bool ok = SimdReadMemory(ref d, memorySize, out ulong low);
            value = low;
            return ok;
        }

        value = Xmm(d.Reg1);
        return true;
    }

    /// <summary>MMX <c>mm op= mm/m64</c> (or m32 for PUNPCKLxx mm, Intel SDM Vol. 2B, PUNPCKLBW).</summary>
    private bool MmxBinary(ref DecodedInstruction d, delegate*<Span<byte>, ReadOnlySpan<byte>, void> op, int memorySize = 8)
    {
        if (!MmxSource(ref d, memorySize, out ulong source))
        {
            return true;
        }

        MmxTransition();
        ulong value = MmRead(d.Reg0);
        op(Bytes(ref value), Bytes(ref source));
        MmWrite(d.Reg0, value);
        return true;
    }

    /// <summary>SSE <c>xmm op= xmm/m128</c>, the memory operand 16-byte aligned.</summary>
    private bool XmmBinary(ref DecodedInstruction d, delegate*<Span<byte>, ReadOnlySpan<byte>, void> op)
    {
        if (!SimdSource128(ref d, PackedOperandsAligned, out UInt128 source))
        {
            return true;
        }

        ref UInt128 destination = ref Xmm(d.Reg0);
        UInt128 value = destination;
        op(Bytes(ref value), Bytes(ref source));
        destination = value;
        return true;
    }

    /// <summary>MMX <c>mm op= mm/m64, imm8</c> (PSHUFW, PALIGNR mm).</summary>
    private bool MmxImmediate(ref DecodedInstruction d, delegate*<Span<byte>, ReadOnlySpan<byte>, byte, void> op)
    {
        if (!MmxSource(ref d, 8, out ulong source))
        {
            return true;
        }

        MmxTransition();
        ulong value = MmRead(d.Reg0);
        op(Bytes(ref value), Bytes(ref source), (byte)d.Imm);
        MmWrite(d.Reg0, value);
        return true;
    }

    /// <summary>SSE <c>xmm op= xmm/m128, imm8</c> (PSHUFD, PALIGNR, PBLENDW, MPSADBW ...).</summary>
    private bool XmmImmediate(ref DecodedInstruction d, delegate*<Span<byte>, ReadOnlySpan<byte>, byte, void> op)
    {
        if (!SimdSource128(ref d, PackedOperandsAligned, out UInt128 source))
        {
            return true;
        }

        ref UInt128 destination = ref Xmm(d.Reg0);
        UInt128 value = destination;
        op(Bytes(ref value), Bytes(ref source), (byte)d.Imm);
        destination = value;
        return true;
    }

    /// <summary>MMX shifts: the count is an immediate or the whole 64-bit source (Intel SDM Vol. 2B, PSLLW: a count above the lane width clears).</summary>
    private bool MmxShift(ref DecodedInstruction d, delegate*<Span<byte>, ulong, void> op)
    {
        ulong count = d.Imm;
        if (d.Kind1 != OperandKind.Immediate && !MmxSource(ref d, 8, out count))
        {
            return true;
        }

        MmxTransition();
        ulong value = MmRead(d.Reg0);
        op(Bytes(ref value), count);
        MmWrite(d.Reg0, value);
        return true;
    }

    /// <summary>SSE shifts: the count is an immediate or the low quadword of the source (an aligned m128).</summary>
    private bool XmmShift(ref DecodedInstruction d, delegate*<Span<byte>, ulong, void> op)
    {
        ulong count = d.Imm;
        if (d.Kind1 != OperandKind.Immediate)
        {
            if (!SimdSource128(ref d, PackedOperandsAligned, out UInt128 source))
            {
                return true;
            }

            count = (ulong)source;
        }

        op(Bytes(ref Xmm(d.Reg0)), count);
        return true;
    }

    /// <summary>PSLLDQ/PSRLDQ xmm, imm8.</summary>
    private bool XmmByteShift(ref DecodedInstruction d, delegate*<Span<byte>, byte, void> op)
    {
        op(Bytes(ref Xmm(d.Reg0)), (byte)d.Imm);
        return true;
    }

    /// <summary>PMOVSX/PMOVZX: the low lanes of an XMM register or of an unaligned m16/m32/m64.</summary>
    private bool XmmExtend(ref DecodedInstruction d, int fromBytes, int toBytes, bool signed)
    {
        int memorySize = 16 / toBytes * fromBytes;
        if (!XmmSourceNarrow(ref d, memorySize, out UInt128 source))
        {
            return true;
        }

        UInt128 value = 0;
        PackedInteger.Extend(Bytes(ref value), Bytes(ref source), fromBytes, toBytes, signed);
        Xmm(d.Reg0) = value;
        return true;
    }

    /// <summary>PBLENDVB xmm, xmm/m128, &lt;XMM0&gt;: the mask is XMM0, implicitly.</summary>
    private bool ExecutePblendvb(ref DecodedInstruction d)
    {
        if (!SimdSource128(ref d, PackedOperandsAligned, out UInt128 source))
        {
            return true;
        }

        UInt128 mask = Xmm(0);
        PackedInteger.Pblendvb(Bytes(ref Xmm(d.Reg0)), Bytes(ref source), Bytes(ref mask));
        return true;
    }

    /// <summary>PTEST: ZF and CF from the two ANDs; AF, OF, PF and SF cleared (Intel SDM Vol. 2B, PTEST).</summary>
    private bool ExecutePtest(ref DecodedInstruction d)
    {
        if (!SimdSource128(ref d, PackedOperandsAligned, out UInt128 source))
        {
            return true;
        }

        UInt128 value = Xmm(d.Reg0);
        (bool zero, bool carry) = PackedInteger.Ptest(Bytes(ref value), Bytes(ref source));
        SetStatusFlags((zero ? EflagsBits.Zf : 0) | (carry ? EflagsBits.Cf : 0));
        return true;
    }

    /// <summary>
    /// PCMPESTRI/PCMPESTRM/PCMPISTRI/PCMPISTRM. The memory operand needs no alignment (Intel SDM Vol. 2B, PCMPESTRI: "the
    /// memory operand is not required to be aligned"). The index goes to ECX, the mask to XMM0; CF = IntRes2 != 0,
    /// ZF/SF = the second/first operand ends inside the register, OF = IntRes2[0], AF = PF = 0.
    /// </summary>
    private bool ExecuteStringCompare(ref DecodedInstruction d, bool explicitLength, bool index, bool wide)
    {
        if (!SimdSource128(ref d, aligned: false, out UInt128 b))
        {
            return true;
        }

        UInt128 a = Xmm(d.Reg0);
        byte imm = (byte)d.Imm;
        int lengthA;
        int lengthB;
        if (explicitLength)
        {
            ulong rax = Gpr((int)GeneralRegister.Rax);
            ulong rdx = Gpr((int)GeneralRegister.Rdx);
            lengthA = PackedStringCompare.ExplicitLength(wide ? (long)rax : (int)rax, imm);
            lengthB = PackedStringCompare.ExplicitLength(wide ? (long)rdx : (int)rdx, imm);
        }
        else
        {
            lengthA = PackedStringCompare.ImplicitLength(Bytes(ref a), imm);
            lengthB = PackedStringCompare.ImplicitLength(Bytes(ref b), imm);
        }

        int result = PackedStringCompare.Compare(Bytes(ref a), lengthA, Bytes(ref b), lengthB, imm);
        if (index)
        {
            WriteRegister((int)GeneralRegister.Rcx, 4, (uint)PackedStringCompare.Index(result, imm));
        }
        else
        {
            PackedStringCompare.Mask(Bytes(ref Xmm(0)), result, imm);
        }

        int n = PackedStringCompare.ElementCount(imm);
        SetStatusFlags((result != 0 ? EflagsBits.Cf : 0) | (lengthB < n ? EflagsBits.Zf : 0) | (lengthA < n ? EflagsBits.Sf : 0)
            | ((result & 1) != 0 ? EflagsBits.Of : 0));
        return true;
    }
}
