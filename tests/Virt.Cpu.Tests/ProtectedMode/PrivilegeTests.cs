using Iced.Intel;
using Virt.Memory;
using Xunit;
using static Iced.Intel.AssemblerRegisters;
using H = Virt.Cpu.Tests.ProtectedMode.ProtectedModeHarness;

namespace Virt.Cpu.Tests.ProtectedMode;

/// <summary>Privilege levels: IRET to ring 3, interrupts back through the TSS stack, call gates, IOPL and the I/O bitmap (Intel SDM Vol. 3A, 5 and 6).</summary>
public sealed class PrivilegeTests
{
    private const uint Ring3Code = 0x12000;
    private const uint Ring3Stack = 0x7F000;
    private const ushort Data3 = H.Dpl3Data | 3;
    private const ushort Code3 = H.Code3 | 3;

    /// <summary>Ring 0 loads TR and IRETs to ring-3 code at <see cref="Ring3Code"/> with the given IOPL.</summary>
    private static H EnterRing3(Action<Assembler> ring3, int iopl = 0)
    {
        var m = new H();
        m.Memory.Write(new PhysicalAddress(Ring3Code), H.Assemble(32, ring3, Ring3Code));
        m.Load(a =>
        {
            a.mov(ax, H.Tss32);
            a.ltr(ax);
            a.push(Data3);
            a.push(Ring3Stack);
            a.push(0x2 | (iopl << 12));
            a.push(Code3);
            a.push(Ring3Code);
            a.iretd();
        });
        return m;
    }

    [Fact]
    public void Iret_to_ring_3_and_int_back_to_ring_0_switches_to_the_tss_stack()
    {
        var m = EnterRing3(a =>
        {
            a.mov(ebx, cs);
            a.@int(0x50);
        });
        m.InstallGate(0x50, dpl: 3);
        m.Cpu.Run(100);
        Assert.Equal(-1, m.Cpu.LastExceptionVector);
        Assert.Equal(0, m.Cpu.Cpl);
        Assert.Equal((ulong)Code3, m.Reg(GeneralRegister.Rbx));
        Assert.Equal(H.FlatData, m.Cpu.GetSegment(SegmentRegister.Ss).Selector);
        Assert.Equal(0x70000u - 20, (uint)m.Reg(GeneralRegister.Rsp));
        Assert.Equal((uint)Data3, m.Dword(0x70000 - 4)); // old SS
        Assert.Equal(Ring3Stack, m.Dword(0x70000 - 8)); // old ESP
        Assert.Equal((uint)Code3, m.Dword(0x70000 - 16)); // old CS
        Assert.Equal(Ring3Code + 4, m.Dword(0x70000 - 20)); // return EIP after MOV EBX,CS (2) and INT 50h (2)
    }

    [Fact]
    public void Iret_from_ring_0_handler_returns_to_ring_3_and_nulls_ring_0_data_segments()
    {
        var m = EnterRing3(a =>
        {
            a.@int(0x51);
            a.mov(ecx, ss);
            a.mov(edx, ds);
            a.@int(0x52); // back into ring 0 to halt
        });
        m.InstallGate(0x51, dpl: 3);
        m.InstallGate(0x52, dpl: 3);
        m.Memory.WriteByte(new PhysicalAddress(H.HandlerAddress(0x51)), 0xCF); // IRETD
        m.Cpu.Run(100);
        Assert.Equal(-1, m.Cpu.LastExceptionVector);
        Assert.Equal((ulong)Data3, m.Reg(GeneralRegister.Rcx));
        Assert.Equal(0UL, m.Reg(GeneralRegister.Rdx)); // DS (DPL 0) was nulled by the return to ring 3
        Assert.Equal(H.HandlerAddress(0x52) + 1, m.Cpu.Eip);
    }

    [Fact]
    public void Ring_3_cli_with_iopl_0_is_gp_delivered_on_the_ring_0_stack()
    {
        var m = EnterRing3(a =>
        {
            a.cli();
        });
        m.InstallGate(13);
        m.Cpu.Run(100);
        Assert.Equal(13, m.Cpu.LastExceptionVector);
        Assert.Equal(0u, m.Dword(0x70000 - 24)); // error code
        Assert.Equal(Ring3Code, m.Dword(0x70000 - 20)); // faulting CLI
        Assert.Equal(0x70000u - 24, (uint)m.Reg(GeneralRegister.Rsp));
    }

    [Fact]
    public void Ring_3_cli_with_iopl_3_is_allowed_and_hlt_is_not()
    {
        var m = EnterRing3(a =>
        {
            a.cli();
            a.hlt();
        }, iopl: 3);
        m.InstallGate(13);
        m.Cpu.Run(100);
        Assert.Equal(13, m.Cpu.LastExceptionVector);
        Assert.Equal(Ring3Code + 1, m.Dword(0x70000 - 20)); // the HLT faulted, not the CLI
    }

    [Fact]
    public void Io_bitmap_allows_only_the_ports_whose_bits_are_clear()
    {
        var m = EnterRing3(a =>
        {
            a.mov(al, 0x5A);
            a.@out(0x80, al); // allowed by the bitmap
            a.@out(0x81, al); // 2 + 2: #GP(0)
        });
        m.InstallGate(13);
        m.Cpu.Run(100);
        Assert.Equal(13, m.Cpu.LastExceptionVector);
        Assert.Equal(Ring3Code + 4, m.Dword(0x70000 - 20));
    }

    [Fact]
    public void Call_gate_to_ring_0_copies_parameters_and_retf_returns_to_ring_3()
    {
        // Call gate 60h: DPL 3, 32-bit, 2 dword parameters, target 0008:00014000.
        const uint target = 0x14000;
        var m = EnterRing3(a =>
        {
            a.push(0x1111);
            a.push(0x2222);
            a.call(H.CallGate | 3, 0);
            a.mov(esi, esp);
            a.@int(0x52);
        });
        m.SetDescriptor(H.CallGate, (target & 0xFFFF) | ((ulong)H.FlatCode << 16) | (0xECUL << 40) | (2UL << 32) | ((ulong)(target >> 16) << 48));
        m.Memory.Write(new PhysicalAddress(target), H.Assemble(32, a =>
        {
            a.mov(eax, __dword_ptr[esp + 8]); // first copied parameter (the last pushed, 2222h)
            a.mov(ebx, __dword_ptr[esp + 12]);
            a.mov(ecx, ss);
            a.mov(edx, esp);
            a.retf(8);
        }, target));
        m.InstallGate(0x52, dpl: 3);
        m.Cpu.Run(100);
        Assert.Equal(-1, m.Cpu.LastExceptionVector);
        Assert.Equal(0x2222UL, m.Reg(GeneralRegister.Rax));
        Assert.Equal(0x1111UL, m.Reg(GeneralRegister.Rbx));
        Assert.Equal((ulong)H.FlatData, m.Reg(GeneralRegister.Rcx));
        Assert.Equal(0x70000UL - 24, m.Reg(GeneralRegister.Rdx)); // SS, ESP, 2 parameters, CS, EIP
        Assert.Equal((ulong)Ring3Stack, m.Reg(GeneralRegister.Rsi)); // RETF 8 released the parameters on the ring-3 stack
    }

    [Fact]
    public void Lar_lsl_verr_verw_and_arpl()
    {
        var m = new H();
        m.Run(a =>
        {
            a.mov(ax, H.ReadOnlyData);
            a.lar(ebx, eax); // ZF = 1
            a.lsl(ecx, eax);
            a.verw(ax); // read-only: ZF = 0
            a.setz(dl);
            a.verr(ax); // ZF = 1
            a.setz(dh);
            a.mov(di, H.FlatData);
            a.mov(si, 3);
            a.arpl(di, si); // DI.RPL 0 < 3: DI = 13h, ZF = 1
            a.hlt();
        });
        Assert.Equal(-1, m.Cpu.LastExceptionVector);
        Assert.Equal(0x0000_9000UL, m.Reg(GeneralRegister.Rbx) & 0x00FF_FE00); // P, DPL 0, S, read-only data type (accessed bit masked)
        Assert.Equal(0xFFFUL, m.Reg(GeneralRegister.Rcx));
        Assert.Equal(0x0100UL, m.Reg(GeneralRegister.Rdx) & 0xFFFF);
        Assert.Equal((ulong)(H.FlatData | 3), m.Reg(GeneralRegister.Rdi) & 0xFFFF);
        Assert.Equal(0x40u, m.Cpu.Flags & 0x40);
    }
}
