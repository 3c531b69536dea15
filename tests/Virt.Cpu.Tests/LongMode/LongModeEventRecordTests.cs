using Xunit;
using static Iced.Intel.AssemblerRegisters;
using H = Virt.Cpu.Tests.LongMode.LongModeHarness;

namespace Virt.Cpu.Tests.LongMode;

/// <summary>
/// The record an <see cref="ICpuEventObserver"/> gets in IA-32e mode (Virt.Run's <c>-d int</c>): the mode named as 64-bit
/// or compatibility mode, RIP, RSP and CR2 with all 64 bits, and the QEMU <c>-d int</c> layout.
/// </summary>
public sealed class LongModeEventRecordTests
{
    /// <summary>PML4 entry 1 is not present in the harness's tables: a write there is #PF with error code 2 (write, not present).</summary>
    private const ulong Unmapped = 0x0000_0080_0000_1000;

    [Fact]
    public void A_page_fault_in_64_bit_mode_is_recorded_with_64_bit_rip_and_cr2()
    {
        var m = new H();
        var records = new List<CpuExceptionRecord>();
        m.Load(a =>
        {
            a.mov(rsp, H.HighHalf + H.StackTop);
            a.mov(rax, Unmapped);
            a.mov(__qword_ptr[rax], rax);
            a.hlt();
        });
        m.Cpu.EventObserver = new Recorder(records);

        m.Cpu.Run(10_000);

        CpuExceptionRecord pf = Assert.Single(records);
        Assert.Equal(14, pf.Vector);
        Assert.Equal(CpuMode.LongMode64, pf.Mode);
        Assert.True(pf.IsLongMode);
        Assert.Equal("64-bit, 4-level paging", pf.ModeDescription);
        Assert.Equal(Unmapped, pf.Cr2);
        Assert.Equal(H.HighHalf + H.StackTop, pf.Rsp);
        string rip = pf.Rip.ToString("x16", System.Globalization.CultureInfo.InvariantCulture);
        string sp = (H.HighHalf + H.StackTop).ToString("x16", System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal($"v=0e e=0002 i=0 cpl=0 IP=0008:{rip} pc={rip} SP=0010:{sp} CR2=0000008000001000", pf.FormatQemuStyle());
        Assert.Contains("CR2=0000008000001000", pf.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void An_interrupt_in_compatibility_mode_is_labelled_so()
    {
        var m = new H();
        var records = new List<CpuExceptionRecord>();
        m.Load(a => a.hlt());

        // Stop before the far jump to 64-bit code: the harness's entry code runs in compatibility mode once CR0.PG is set.
        m.Cpu.EventObserver = new Recorder(records);
        m.Memory.Write(new Virt.Memory.PhysicalAddress(H.CodeAddress), H.Assemble(32, a => a.@int(0x40), H.CodeAddress));
        m.SetDescriptor(H.Code64, 0x00CF_9A00_0000_FFFF); // the "64-bit" selector now names 32-bit code: compatibility mode
        m.Cpu.Run(10_000);

        // The record comes before the delivery (which then fails: the gates lead to the selector that is no longer 64-bit).
        Assert.NotEmpty(records);
        CpuExceptionRecord int40 = records[0];
        Assert.Equal(CpuMode.Compatibility, int40.Mode);
        Assert.Equal("compatibility, 4-level paging", int40.ModeDescription);
        Assert.StartsWith("v=40 e=0000 i=1 cpl=0 IP=0008:", int40.FormatQemuStyle(), StringComparison.Ordinal);
    }

    private sealed class Recorder(List<CpuExceptionRecord> records) : ICpuEventObserver
    {
        public void OnInterrupt(in CpuExceptionRecord record) => records.Add(record);
    }
}
