using Iced.Intel;
using Virt.Memory;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Virt.Cpu.Tests.Execution;

/// <summary>
/// The SSE floating-point and state instructions run as real-mode guest programs: operand wiring, alignment faults, #XM
/// versus #UD for unmasked exceptions with the destination left alone, COMISS's flags, LDMXCSR's reserved bits, the FXSAVE
/// layout, XSAVE/XRSTOR/XGETBV/XSETBV and CPUID leaf 0Dh.
/// </summary>
public sealed class SimdFloatTests
{
    private const int VectorUd = 6;
    private const int VectorGp = 13;
    private const int VectorXm = 19;
    private const ulong Cr4Osfxsr = 1UL << 9;
    private const ulong Cr4Osxmmexcpt = 1UL << 10;
    private const ulong Cr4Osxsave = 1UL << 18;
    private const uint Data = 0x2000;

    private readonly CpuHarness _m = new();

    /// <summary>Loads the program, enables SSE (CR4.OSFXSR plus <paramref name="cr4"/>) and runs to HLT or a fault handler.</summary>
    private void Run(Action<Assembler> build, ulong cr4 = Cr4Osxmmexcpt)
    {
        _m.Load(a =>
        {
            build(a);
            a.hlt();
        });
        foreach (int vector in new[] { VectorUd, VectorGp, VectorXm })
        {
            _m.InstallHaltHandler(vector);
        }

        _m.Cpu.Cr4 = Cr4Osfxsr | cr4;
        _m.Cpu.Run(1000);
    }

    private int Fault()
    {
        foreach (int vector in new[] { VectorUd, VectorGp, VectorXm })
        {
            if (_m.Cpu.Eip == CpuHarness.HaltHandlerReturn(vector))
            {
                return vector;
            }
        }

        return -1;
    }

    private void WriteFloats(uint address, params float[] values)
    {
        for (int i = 0; i < values.Length; i++)
        {
            _m.Memory.WriteDoubleWord(new PhysicalAddress(address + (uint)(4 * i)), BitConverter.SingleToUInt32Bits(values[i]));
        }
    }

    private float Float(uint address) => BitConverter.UInt32BitsToSingle(_m.Memory.ReadDoubleWord(new PhysicalAddress(address)));

    private static UInt128 Floats(float a, float b, float c, float d) =>
        new((ulong)BitConverter.SingleToUInt32Bits(c) | ((ulong)BitConverter.SingleToUInt32Bits(d) << 32),
            (ulong)BitConverter.SingleToUInt32Bits(a) | ((ulong)BitConverter.SingleToUInt32Bits(b) << 32));

    [Fact]
    public void Packed_arithmetic_reads_aligned_memory_and_stores_every_lane()
    {
        WriteFloats(Data, 1.5f, -2f, 1e30f, 3f);
        WriteFloats(Data + 16, 0.25f, 8f, 1e30f, 0.1f);
        Run(a =>
        {
            a.movaps(xmm0, __xmmword_ptr[Data]);
            a.mulps(xmm0, __xmmword_ptr[Data + 16]);
            a.movups(__xmmword_ptr[Data + 0x41], xmm0); // unaligned store is fine
            a.movaps(xmm1, __xmmword_ptr[Data]);
            a.addss(xmm1, __dword_ptr[Data + 16]); // scalar: lane 0 only
            a.movaps(__xmmword_ptr[Data + 0x60], xmm1);
        });
        Assert.Equal(-1, Fault());
        Assert.Equal(1.5f * 0.25f, Float(Data + 0x41));
        Assert.Equal(-16f, Float(Data + 0x45));
        Assert.Equal(float.PositiveInfinity, Float(Data + 0x49)); // 1e60 overflows (masked: infinity, OE and PE)
        Assert.Equal(3f * 0.1f, Float(Data + 0x4D));
        Assert.Equal(1.75f, Float(Data + 0x60));
        Assert.Equal(-2f, Float(Data + 0x64));
        Assert.Equal(0x1F80u | 0x28u, _m.Cpu.Mxcsr); // OE | PE from the overflow and the inexact products
    }

    [Fact]
    public void Misaligned_aligned_forms_raise_gp()
    {
        Run(a => a.movaps(xmm0, __xmmword_ptr[Data + 8]));
        Assert.Equal(VectorGp, Fault());
        Run(a => a.addps(xmm0, __xmmword_ptr[Data + 4]));
        Assert.Equal(VectorGp, Fault());
        Run(a => a.movups(xmm0, __xmmword_ptr[Data + 4]));
        Assert.Equal(-1, Fault());
    }

    [Theory]
    [InlineData(true, VectorXm)]
    [InlineData(false, VectorUd)] // CR4.OSXMMEXCPT = 0: #UD in place of #XM (Intel SDM Vol. 3A, 2.5)
    public void Unmasked_exceptions_fault_and_leave_the_destination(bool osxmmexcpt, int expected)
    {
        WriteFloats(Data, 1f, 1f, 1f, 1f);
        WriteFloats(Data + 16, 1f, 0f, 2f, 4f);
        _m.Memory.WriteDoubleWord(new PhysicalAddress(Data + 32), 0x1D80); // ZM (bit 9) clear
        Run(
            a =>
            {
                a.ldmxcsr(__dword_ptr[Data + 32]);
                a.movaps(xmm1, __xmmword_ptr[Data]);
                a.divps(xmm1, __xmmword_ptr[Data + 16]); // lane 1: 1/0
            },
            osxmmexcpt ? Cr4Osxmmexcpt : 0);
        Assert.Equal(expected, Fault());
        Assert.Equal(Floats(1f, 1f, 1f, 1f), _m.Cpu.GetXmm(1));
        Assert.Equal(0x1D80u | 0x04u, _m.Cpu.Mxcsr); // ZE; the other lanes are exact
    }

    [Fact]
    public void An_unmasked_divide_by_zero_keeps_the_destination_and_sets_only_the_pre_computation_flags()
    {
        WriteFloats(Data + 16, 3f, 0f, 2f, 4f);
        _m.Memory.WriteDoubleWord(new PhysicalAddress(Data + 32), 0x1D80); // ZM clear
        Run(a =>
        {
            a.ldmxcsr(__dword_ptr[Data + 32]);
            a.movaps(xmm1, __xmmword_ptr[Data + 16]);
            a.movaps(xmm2, __xmmword_ptr[Data + 16]);
            a.divps(xmm1, xmm2); // lane 1: 0/0, a masked IE (not ZE): the quotients store
            a.movaps(xmm1, __xmmword_ptr[Data + 16]);
            a.rcpps(xmm3, xmm1); // no exceptions from the estimate
            a.movaps(xmm4, __xmmword_ptr[Data + 16]);
            a.shufps(xmm4, xmm4, 0x00); // 3, 3, 3, 3
            a.divps(xmm4, xmm2); // lane 1: 3/0: ZE unmasked -> #XM, xmm4 unchanged
        });
        Assert.Equal(VectorXm, Fault());
        Assert.Equal(Floats(3f, 3f, 3f, 3f), _m.Cpu.GetXmm(4));
        Assert.Equal(0x1D80u | 0x01u | 0x04u, _m.Cpu.Mxcsr); // IE from the first DIVPS, ZE from the faulting one, no PE
    }

    [Theory]
    [InlineData(1f, 2f, 0x01u)] // less: CF
    [InlineData(2f, 2f, 0x40u)] // equal: ZF
    [InlineData(3f, 2f, 0x00u)] // greater: none
    [InlineData(float.NaN, 2f, 0x45u)] // unordered: ZF, PF, CF
    public void Comiss_sets_zf_pf_cf_and_clears_the_rest(float x, float y, uint expectedFlags)
    {
        WriteFloats(Data, x, y);
        Run(a =>
        {
            a.movss(xmm0, __dword_ptr[Data]);
            a.mov(ax, -1);
            a.add(ax, 1); // sets AF, ZF, CF; COMISS must clear AF, SF and OF
            a.ucomiss(xmm0, __dword_ptr[Data + 4]);
        });
        Assert.Equal(-1, Fault());
        Assert.Equal(expectedFlags, _m.Cpu.Flags & 0x8D5u);
    }

    [Fact]
    public void Conversions_to_integers_round_in_mxcsr_mode_or_truncate()
    {
        WriteFloats(Data, -2.5f, 3e9f);
        _m.Memory.WriteDoubleWord(new PhysicalAddress(Data + 8), 0x1F80 | (1u << 13)); // round down
        Run(a =>
        {
            a.cvtss2si(eax, __dword_ptr[Data]); // nearest even: -2
            a.cvttss2si(ebx, __dword_ptr[Data]); // truncate: -2
            a.ldmxcsr(__dword_ptr[Data + 8]);
            a.cvtss2si(ecx, __dword_ptr[Data]); // down: -3
            a.cvtss2si(edx, __dword_ptr[Data + 4]); // out of range: integer indefinite
        });
        Assert.Equal(unchecked((uint)-2), (uint)_m.Reg(GeneralRegister.Rax));
        Assert.Equal(unchecked((uint)-2), (uint)_m.Reg(GeneralRegister.Rbx));
        Assert.Equal(unchecked((uint)-3), (uint)_m.Reg(GeneralRegister.Rcx));
        Assert.Equal(0x8000_0000u, (uint)_m.Reg(GeneralRegister.Rdx));
        Assert.Equal(0x1F80u | (1u << 13) | 0x21u, _m.Cpu.Mxcsr); // PE, IE
    }

    [Fact]
    public void Ldmxcsr_rejects_reserved_bits_and_stmxcsr_stores()
    {
        _m.Memory.WriteDoubleWord(new PhysicalAddress(Data), 0x0001_1F80);
        Run(a =>
        {
            a.stmxcsr(__dword_ptr[Data + 4]);
            a.ldmxcsr(__dword_ptr[Data]);
        });
        Assert.Equal(VectorGp, Fault());
        Assert.Equal(0x1F80u, _m.Memory.ReadDoubleWord(new PhysicalAddress(Data + 4)));
        Assert.Equal(0x1F80u, _m.Cpu.Mxcsr);
    }

    [Fact]
    public void Fxsave_stores_mxcsr_its_mask_and_the_xmm_registers_and_fxrstor_loads_them_back()
    {
        const uint Area = 0x3000;
        _m.Memory.WriteDoubleWord(new PhysicalAddress(Data), 0x3F80 | 0x8000); // RC down, FTZ
        Run(a =>
        {
            a.ldmxcsr(__dword_ptr[Data]);
            a.fxsave(__[Area]);
        });
        Assert.Equal(-1, Fault());
        Assert.Equal(0xBF80u, _m.Memory.ReadDoubleWord(new PhysicalAddress(Area + 24)));
        Assert.Equal(0xFFFFu, _m.Memory.ReadDoubleWord(new PhysicalAddress(Area + 28)));

        // Put a pattern into the image's XMM area and MXCSR, restore it, and save it again elsewhere: the same bytes.
        for (uint i = 0; i < 8 * 16; i += 4)
        {
            _m.Memory.WriteDoubleWord(new PhysicalAddress(Area + 160 + i), 0x0101_0101u * ((i / 4) + 1));
        }

        _m.Memory.WriteDoubleWord(new PhysicalAddress(Area + 24), 0x1F81);
        Run(a =>
        {
            a.fxrstor(__[Area]);
            a.fxsave(__[Area + 0x200]);
        });
        Assert.Equal(-1, Fault());
        Assert.Equal(0x1F81u, _m.Cpu.Mxcsr);
        Assert.Equal(new UInt128(0x1010_1010_0F0F_0F0F, 0x0E0E_0E0E_0D0D_0D0D), _m.Cpu.GetXmm(3));
        for (uint i = 0; i < 288; i += 4)
        {
            Assert.Equal(_m.Memory.ReadDoubleWord(new PhysicalAddress(Area + i)), _m.Memory.ReadDoubleWord(new PhysicalAddress(Area + 0x200 + i)));
        }
    }

    [Fact]
    public void Fxrstor_rejects_reserved_mxcsr_bits_and_misalignment()
    {
        _m.Memory.WriteDoubleWord(new PhysicalAddress(0x3000 + 24), 0x0002_1F80);
        Run(a => a.fxrstor(__[0x3000]));
        Assert.Equal(VectorGp, Fault());
        Run(a => a.fxsave(__[0x3008]));
        Assert.Equal(VectorGp, Fault());
    }

    [Fact]
    public void Xsave_family_needs_osxsave_and_follows_xcr0()
    {
        Run(a => a.xgetbv());
        Assert.Equal(VectorUd, Fault());

        const uint Area = 0x3000;
        _m.Memory.WriteDoubleWord(new PhysicalAddress(Area + 512 + 4), 0); // XSTATE_BV high
        Run(
            a =>
            {
                a.xor(ecx, ecx);
                a.mov(eax, 3);
                a.xor(edx, edx);
                a.xsetbv(); // XCR0 = x87 | SSE
                a.xgetbv();
                a.mov(esi, eax);
                a.mov(eax, 0xD);
                a.xor(ecx, ecx);
                a.cpuid();
                a.mov(edi, ebx); // the area size for XCR0
                a.mov(eax, 1);
                a.cpuid();
                a.mov(ebp, ecx); // OSXSAVE mirrors CR4
                a.mov(eax, 3);
                a.xor(edx, edx);
                a.xsave(__[Area]);
            },
            Cr4Osxmmexcpt | Cr4Osxsave);
        Assert.Equal(-1, Fault());
        Assert.Equal(3u, (uint)_m.Reg(GeneralRegister.Rsi));
        Assert.Equal(576u, (uint)_m.Reg(GeneralRegister.Rdi));
        Assert.NotEqual(0u, (uint)_m.Reg(GeneralRegister.Rbp) & (1u << 27));
        Assert.Equal(3u, _m.Memory.ReadDoubleWord(new PhysicalAddress(Area + 512)));
        Assert.Equal(0x1F80u, _m.Memory.ReadDoubleWord(new PhysicalAddress(Area + 24)));

        // XRSTOR with XSTATE_BV.SSE = 0 puts the XMM registers in their initial state (zero).
        _m.Memory.WriteDoubleWord(new PhysicalAddress(Area + 512), 1);
        _m.Memory.WriteDoubleWord(new PhysicalAddress(Data), 0x3F80);
        Run(
            a =>
            {
                a.xor(ecx, ecx);
                a.mov(eax, 3);
                a.xor(edx, edx);
                a.xsetbv();
                a.movups(xmm5, __xmmword_ptr[Data]);
                a.xrstor(__[Area]);
            },
            Cr4Osxmmexcpt | Cr4Osxsave);
        Assert.Equal(-1, Fault());
        Assert.Equal(UInt128.Zero, _m.Cpu.GetXmm(5));

        Run(
            a =>
            {
                a.xor(ecx, ecx);
                a.mov(eax, 2); // without the x87 bit
                a.xor(edx, edx);
                a.xsetbv();
            },
            Cr4Osxsave);
        Assert.Equal(VectorGp, Fault());
    }
}
