using Virt.Memory;
using Xunit;
using static Iced.Intel.AssemblerRegisters;
using H = Virt.Cpu.Tests.ProtectedMode.ProtectedModeHarness;

namespace Virt.Cpu.Tests.ProtectedMode;

/// <summary>The exception chain the CPU records when it shuts down (Cpu.Shutdown.cs), and the delivery observer.</summary>
public sealed class ShutdownReportTests
{
    private const int VectorInvalidOpcode = 6;
    private const int VectorDoubleFault = 8;
    private const int VectorGeneralProtection = 13;

    /// <summary>A #GP raised while delivering an earlier event has the IDT bit (2) and the EXT bit (1) set (Intel SDM Vol. 3A, 6.13).</summary>
    private static int IdtErrorCode(int vector) => (vector * 8) + 2 + 1;

    [Fact]
    public void Protected_mode_triple_fault_reports_each_exception_with_the_state_it_met()
    {
        var m = new H();
        m.Load(a =>
        {
            a.mov(ax, 0x100);
            a.mov(ds, ax); // #GP(100h); the IDT has no gates: #GP, then #DF, then #GP again: shutdown
            a.hlt();
        });
        m.Cpu.Cr2 = 0x1234_5000;
        m.Cpu.Cr3 = 0x0000_7000;
        Assert.Null(m.Cpu.LastShutdown);

        Assert.Equal(StopReason.Shutdown, m.Cpu.Run(100));

        CpuShutdownReport report = Assert.IsType<CpuShutdownReport>(m.Cpu.LastShutdown);
        Assert.Equal([VectorGeneralProtection, VectorGeneralProtection, VectorDoubleFault, VectorGeneralProtection], report.Exceptions.Select(e => e.Vector));
        Assert.Equal([0x100, IdtErrorCode(VectorGeneralProtection), 0, IdtErrorCode(VectorDoubleFault)], report.Exceptions.Select(e => e.ErrorCode));
        uint movDs = H.CodeAddress + (uint)H.Assemble(32, a => a.mov(ax, 0x100), H.CodeAddress).Length;
        foreach (CpuExceptionRecord e in report.Exceptions)
        {
            Assert.Equal(CpuEventSource.Exception, e.Source);
            Assert.Equal(H.FlatCode, e.CodeSelector);
            Assert.Equal(movDs, e.Eip); // a fault: the faulting instruction, which never completed
            Assert.Equal(movDs, e.LinearAddress); // flat code segment: base 0
            Assert.Equal(CpuMode.Protected32, e.Mode);
            Assert.False(e.IsPagingEnabled);
            Assert.Equal(m.Cpu.Cr0, e.Cr0);
            Assert.Equal(0x1234_5000UL, e.Cr2);
            Assert.Equal(0x7000UL, e.Cr3);
            Assert.Equal(m.Cpu.Cr4, e.Cr4);
        }

        Assert.Equal("#GP(0100) at 0008:" + movDs.ToString("X8", System.Globalization.CultureInfo.InvariantCulture) + ", #GP(006B), #DF(0000), #GP(0043)", report.Summarize());
        Assert.Equal(m.Cpu.RetiredInstructions, report.RetiredInstructions);
        Assert.Same(report, m.Cpu.LastShutdown);
    }

    [Fact]
    public void Real_mode_triple_fault_through_a_zero_ivt_limit_reports_ud_gp_df_gp_without_error_codes()
    {
        var h = new CpuHarness();
        h.Load(a =>
        {
            a.nop();
            a.ud2();
        });
        h.Cpu.IdtLimit = 0; // every vector lies beyond the IVT limit: #GP, then #DF, then #GP again

        Assert.Equal(StopReason.Shutdown, h.Cpu.Run(100));

        CpuShutdownReport report = Assert.IsType<CpuShutdownReport>(h.Cpu.LastShutdown);
        Assert.Equal([VectorInvalidOpcode, VectorGeneralProtection, VectorDoubleFault, VectorGeneralProtection], report.Exceptions.Select(e => e.Vector));
        Assert.All(report.Exceptions, e =>
        {
            Assert.Null(e.ErrorCode); // real-address mode pushes none
            Assert.Equal(CpuMode.Real, e.Mode);
            Assert.Equal((ushort)0, e.CodeSelector);
            Assert.Equal(CpuHarness.CodeOffset + 1u, e.Eip); // after the one-byte NOP
        });
        Assert.Equal(h.Cpu.RetiredInstructions, report.RetiredInstructions); // exact once Run has returned
        Assert.Contains("real", report.ToString(), StringComparison.Ordinal);

        h.Cpu.Reset();
        Assert.Null(h.Cpu.LastShutdown);
    }

    [Fact]
    public void Page_fault_chain_keeps_each_faults_own_cr2_and_reports_paging()
    {
        const uint PageDirectory = 0x60000;
        const uint LowTable = 0x61000; // linear 0-4 MiB: identity for the 1 MiB of RAM; 4-8 MiB has an empty table
        const uint HighTable = 0x62000;
        const uint PresentWritable = 3;
        const uint Unmapped = 0x402344;
        const uint UnmappedStackTop = 0x404000;
        const int VectorPageFault = 14;
        const int WriteErrorCode = 2; // not present, write, supervisor (Intel SDM Vol. 3A, 4.7)
        var m = new H();
        m.Memory.WriteDoubleWord(new PhysicalAddress(PageDirectory), LowTable | PresentWritable);
        m.Memory.WriteDoubleWord(new PhysicalAddress(PageDirectory + 4), HighTable | PresentWritable);
        for (uint page = 0; page < 256; page++)
        {
            m.Memory.WriteDoubleWord(new PhysicalAddress(LowTable + (page * 4)), (page << 12) | PresentWritable);
        }

        m.InstallGate(VectorPageFault);
        m.InstallGate(VectorDoubleFault);
        m.Run(a =>
        {
            a.mov(eax, PageDirectory);
            a.mov(cr3, eax);
            a.mov(eax, cr0);
            a.or(eax, unchecked((int)0x8000_0000));
            a.mov(cr0, eax);
            a.mov(esp, UnmappedStackTop); // every push of a delivery faults
            a.mov(eax, __dword_ptr[Unmapped]);
            a.hlt();
        });

        // #PF on the read; pushing its frame faults (#PF on the stack), a page fault after a page fault is #DF, and
        // pushing the #DF frame faults again: shutdown (Intel SDM Vol. 3A, 6.15, Table 6-5).
        CpuShutdownReport report = Assert.IsType<CpuShutdownReport>(m.Cpu.LastShutdown);
        Assert.Equal([VectorPageFault, VectorPageFault, VectorDoubleFault, VectorPageFault], report.Exceptions.Select(e => e.Vector));
        Assert.Equal([0, WriteErrorCode, 0, WriteErrorCode], report.Exceptions.Select(e => e.ErrorCode));
        Assert.Equal(Unmapped, report.Exceptions[0].Cr2); // the original fault's address, although delivery overwrote CR2
        Assert.InRange(report.Exceptions[1].Cr2, UnmappedStackTop - 4, UnmappedStackTop - 1); // the first push
        Assert.All(report.Exceptions, e =>
        {
            Assert.True(e.IsPagingEnabled);
            Assert.False(e.IsPaeEnabled);
            Assert.Equal(PageDirectory, e.Cr3);
            Assert.Equal("32-bit protected, paging", e.ModeDescription);
        });
    }

    [Fact]
    public void A_fault_delivered_through_a_double_fault_handler_records_no_shutdown()
    {
        var m = new H();
        m.InstallGate(VectorDoubleFault);
        m.Run(a =>
        {
            a.mov(ax, 0x100);
            a.mov(ds, ax);
            a.hlt();
        });
        Assert.False(m.Cpu.IsShutdown);
        Assert.Null(m.Cpu.LastShutdown);
    }

    [Fact]
    public void Observer_sees_software_interrupts_and_exceptions_with_their_return_address()
    {
        const ushort IretHandler = 0x2000;
        const ushort HltHandler = 0x2010;
        var h = new CpuHarness();
        var observer = new RecordingObserver();
        h.Cpu.EventObserver = observer;
        h.Load(a =>
        {
            a.@int(0x21);
            a.ud2();
        });
        h.Memory.WriteByte(new PhysicalAddress(IretHandler), 0xCF); // IRET
        h.Memory.WriteByte(new PhysicalAddress(HltHandler), 0xF4); // HLT
        h.Memory.WriteDoubleWord(new PhysicalAddress(0x21 * 4), IretHandler); // IVT entry: offset, segment 0
        h.Memory.WriteDoubleWord(new PhysicalAddress(VectorInvalidOpcode * 4), HltHandler);

        Assert.Equal(StopReason.Halted, h.Cpu.Run(100));

        uint afterInt = CpuHarness.CodeOffset + 2u; // INT imm8 is two bytes; UD2 follows
        Assert.Collection(
            observer.Records,
            r =>
            {
                Assert.Equal(0x21, r.Vector);
                Assert.Equal(CpuEventSource.Software, r.Source);
                Assert.Equal(afterInt, r.Eip); // a software interrupt returns past itself
            },
            r =>
            {
                Assert.Equal(VectorInvalidOpcode, r.Vector);
                Assert.Equal(CpuEventSource.Exception, r.Source);
                Assert.Equal(afterInt, r.Eip); // a fault returns to the faulting UD2
                Assert.Equal("#UD", r.Describe());
            });
    }

    private sealed class RecordingObserver : ICpuEventObserver
    {
        public List<CpuExceptionRecord> Records { get; } = [];

        public void OnInterrupt(in CpuExceptionRecord record) => Records.Add(record);
    }
}
