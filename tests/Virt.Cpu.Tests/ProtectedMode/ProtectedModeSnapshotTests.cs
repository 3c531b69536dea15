using Iced.Intel;
using Virt.Memory;
using Xunit;
using static Iced.Intel.AssemblerRegisters;
using H = Virt.Cpu.Tests.ProtectedMode.ProtectedModeHarness;

namespace Virt.Cpu.Tests.ProtectedMode;

/// <summary>
/// <see cref="Cpu.SaveState"/> / <see cref="Cpu.RestoreState"/> in protected mode: LDTR, TR, the MSRs, the debug registers
/// (with IA32_EFER) and CPL survive a round trip through a reset CPU (the real-mode round trip is in InterruptTests).
/// </summary>
public sealed class ProtectedModeSnapshotTests
{
    private const uint HandlerAddress = 0x20000;

    private static H Prepare()
    {
        var m = new H();

        // #DB handler: count in EDI.
        m.Memory.Write(new PhysicalAddress(HandlerAddress), H.Assemble(32, a =>
        {
            a.inc(edi);
            a.iretd();
        }, HandlerAddress));
        ulong gate = (HandlerAddress & 0xFFFFUL) | ((ulong)H.FlatCode << 16) | (0x8EUL << 40) | ((ulong)(HandlerAddress >> 16) << 48);
        m.Memory.WriteQuadWord(new PhysicalAddress(H.IdtAddress + 8), gate);
        m.Load(a =>
        {
            Label top = a.CreateLabel();
            a.mov(ax, H.Ldt);
            a.lldt(ax);
            a.mov(ax, H.Tss32);
            a.ltr(ax);
            a.xor(edx, edx);
            a.mov(ecx, 0x174);
            a.mov(eax, (uint)H.FlatCode);
            a.wrmsr();
            a.mov(ecx, 0x175);
            a.mov(eax, 0x7000);
            a.wrmsr();
            a.mov(ecx, 0x176);
            a.mov(eax, 0x12345);
            a.wrmsr();
            a.mov(ecx, 0x10);
            a.mov(eax, 0x100_0000);
            a.wrmsr();
            a.mov(ecx, 0xC000_0080); // IA32_EFER.NXE
            a.mov(eax, 0x800);
            a.wrmsr();
            a.mov(eax, 0x5000);
            a.mov(dr0, eax);
            a.mov(eax, 0x000D_0001); // L0, R/W = 01 (write), LEN = 11 (4 bytes)
            a.mov(dr7, eax);
            a.xor(esi, esi);
            a.xor(edi, edi);
            a.mov(ecx, 200);
            a.Label(ref top);
            a.mov(__dword_ptr[0x5000], ecx);
            a.add(esi, ecx);
            a.rol(esi, 3);
            a.loop(top);
            a.rdtsc();
            a.hlt();
        });
        return m;
    }

    [Fact]
    public void Protected_mode_state_with_ldt_tr_msrs_and_breakpoints_round_trips()
    {
        H m = Prepare();
        m.Cpu.Run(100);
        CpuState saved = m.Cpu.SaveState();
        Assert.Equal(H.Ldt, saved.Ldtr.Selector);
        Assert.Equal(0x3800UL, saved.Ldtr.Base);
        Assert.Equal(H.Tss32, saved.TaskRegister.Selector);
        Assert.Equal(0x3000UL, saved.TaskRegister.Base);
        Assert.Equal((ushort)H.FlatCode, saved.SysenterCs);
        Assert.Equal(0x7000u, saved.SysenterEsp);
        Assert.Equal(0x12345u, saved.SysenterEip);
        Assert.Equal(0x5000u, saved.DebugAddresses![0]);
        Assert.Equal(1u, saved.Dr7 & 3);
        Assert.NotEqual(0UL, saved.TscOffset);
        Assert.Equal(0x800UL, saved.Efer);

        m.Cpu.Run(100_000);
        Assert.True(m.Cpu.IsHalted);
        CpuState first = m.Cpu.SaveState();
        Assert.Equal(200UL, first.GeneralRegisters[(int)GeneralRegister.Rdi]); // one #DB per write

        // A reset clears LDTR, TR, the MSRs and the debug registers: everything after this comes from the snapshot.
        m.Cpu.Reset();
        m.Cpu.RestoreState(saved);
        Assert.Equal(saved.Ldtr, m.Cpu.Ldtr);
        Assert.Equal(saved.TaskRegister, m.Cpu.TaskRegister);
        Assert.Equal(0x5000u, m.Cpu.GetDebugRegister(0));
        Assert.True(m.Cpu.TryReadMsr(0x176, out ulong sysenterEip));
        Assert.Equal(0x12345UL, sysenterEip);
        Assert.Equal(0x800UL, m.Cpu.Efer);
        m.Cpu.Run(100_000);
        CpuState second = m.Cpu.SaveState();

        Assert.Equal(first.GeneralRegisters, second.GeneralRegisters); // includes the RDTSC result (offset restored) and EDI
        Assert.Equal(first.Segments, second.Segments);
        Assert.Equal(first.Eip, second.Eip);
        Assert.Equal(first.Eflags, second.Eflags);
        Assert.Equal(first.RetiredInstructions, second.RetiredInstructions);
        Assert.Equal(first.Ldtr, second.Ldtr);
        Assert.Equal(first.TaskRegister, second.TaskRegister);
        Assert.Equal(first.Cpl, second.Cpl);
        Assert.Equal(first.TscOffset, second.TscOffset);
        Assert.Equal(first.DebugAddresses, second.DebugAddresses);
        Assert.Equal(first.Dr6, second.Dr6);
        Assert.Equal(first.Dr7, second.Dr7);
    }

    [Fact]
    public void Restore_rejects_inconsistent_system_state()
    {
        H m = Prepare();
        m.Cpu.Run(100);
        CpuState saved = m.Cpu.SaveState();
        Assert.Throws<ArgumentException>(() => m.Cpu.RestoreState(saved with { Cpl = 4 }));
        Assert.Throws<ArgumentException>(() => m.Cpu.RestoreState(saved with { Cr0 = saved.Cr0 & ~1UL, Cpl = 3 }));
        Assert.Throws<ArgumentException>(() => m.Cpu.RestoreState(saved with { DebugAddresses = [1, 2, 3] }));
        Assert.Throws<ArgumentException>(() => m.Cpu.RestoreState(saved with { Dr7 = 0 }));
        Assert.Throws<ArgumentException>(() => m.Cpu.RestoreState(saved with { Efer = 1UL << 1 })); // a reserved bit
        Assert.Throws<ArgumentException>(() => m.Cpu.RestoreState(saved with { Eflags = saved.Eflags | 0x20000, Cpl = 0 })); // v86 at CPL 0
        Assert.Throws<ArgumentException>(() => m.Cpu.RestoreState(saved with { Version = 1 }));
        Assert.Throws<ArgumentException>(() => m.Cpu.RestoreState(saved with { Pdptes = [1, 2] }));
        Assert.Equal(saved.Eip, m.Cpu.Eip); // nothing changed by the rejected restores
    }

    [Fact]
    public void Pae_pdpte_registers_are_restored_as_loaded_not_as_the_table_now_reads()
    {
        // Intel SDM Vol. 3A, 4.4.1: the PDPTEs are registers loaded with CR3; a later write to the table in memory does
        // not change them until the next load, so a snapshot must carry them.
        var m = new H();
        m.Memory.WriteQuadWord(new PhysicalAddress(0x60000), 0x61000 | 1);
        m.Memory.WriteQuadWord(new PhysicalAddress(0x61000), 0x62000 | 3);
        for (uint page = 0; page < 256; page++)
        {
            m.Memory.WriteQuadWord(new PhysicalAddress(0x62000 + (page * 8)), (page << 12) | 3);
        }

        m.Run(a =>
        {
            a.mov(eax, 1 << 5);
            a.mov(cr4, eax);
            a.mov(eax, 0x60000);
            a.mov(cr3, eax);
            a.mov(eax, cr0);
            a.or(eax, unchecked((int)0x8000_0000));
            a.mov(cr0, eax);
            a.mov(__dword_ptr[0x60000], 0x63001); // rewrites PDPTE 0 in memory only
            a.hlt();
        });
        Assert.Equal(0x61001UL, m.Cpu.GetPdpte(0));
        CpuState saved = m.Cpu.SaveState();
        m.Cpu.Reset();
        m.Cpu.RestoreState(saved);
        Assert.Equal(0x61001UL, m.Cpu.GetPdpte(0));
        Assert.Equal(0x61001UL, m.Cpu.SaveState().Pdptes![0]);
    }
}
