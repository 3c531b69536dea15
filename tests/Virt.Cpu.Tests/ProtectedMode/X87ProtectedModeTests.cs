using Virt.Memory;
using Xunit;
using static Iced.Intel.AssemblerRegisters;
using H = Virt.Cpu.Tests.ProtectedMode.ProtectedModeHarness;

namespace Virt.Cpu.Tests.ProtectedMode;

/// <summary>x87 instructions in 32-bit protected mode (flat segments from <see cref="H"/>).</summary>
public sealed class X87ProtectedModeTests
{
    [Fact]
    public void Fnstenv_uses_the_32_bit_protected_layout()
    {
        var m = new H();
        m.Memory.WriteQuadWord(new PhysicalAddress(0x20000), 0x4000000000000000); // 2.0
        m.Run(a =>
        {
            a.fninit(); // 10000h
            a.fldpi(); // 10002h
            a.fld(__qword_ptr[0x20000]); // 10004h: DD 05 imm32
            a.fmulp(st1, st0); // 1000Ah: 2 pi
            a.fnstenv(__[0x30000]);
            a.fstp(__tword_ptr[0x30100]);
            a.hlt();
        });
        Assert.Equal(0x037Fu, m.Dword(0x30000) & 0xFFFF);
        Assert.Equal(7u << 11, m.Dword(0x30004) & 0x3800); // TOP = 7 after FMULP
        Assert.Equal(0x3FFFu, m.Dword(0x30008) & 0xFFFF);
        Assert.Equal(0x1000Au, m.Dword(0x3000C)); // FIP: the FMULP
        Assert.Equal(H.FlatCode | (0x6C9u << 16), m.Dword(0x30010)); // FCS and FOP (DE C9)
        Assert.Equal(0x20000u, m.Dword(0x30014)); // FDP: the last memory operand (FMULP has none)
        Assert.Equal((uint)H.FlatData, m.Dword(0x30018) & 0xFFFF);
        Assert.Equal(0xC90FDAA22168C235UL, m.Memory.ReadQuadWord(new PhysicalAddress(0x30100)));
        Assert.Equal(0x4001, m.Memory.ReadWord(new PhysicalAddress(0x30108)));
    }

    [Fact]
    public void Unmasked_invalid_operation_raises_mf_through_the_idt()
    {
        var m = new H();
        m.InstallGate(16);
        m.Memory.WriteWord(new PhysicalAddress(0x20000), 0x037E); // IM clear
        m.Load(a =>
        {
            a.fninit();
            a.fldcw(__word_ptr[0x20000]);
            a.fld1();
            a.fchs();
            a.fsqrt(); // sqrt(-1): IE pending
            a.fld1(); // waiting: #MF
            a.hlt();
        });
        m.Cpu.Cr0 |= 0x20;
        m.Cpu.Run(1000);
        Assert.Equal(H.HandlerAddress(16) + 1, m.Cpu.Eip);
    }
}
