using Virt.Memory;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Virt.Cpu.Tests;

/// <summary>
/// <see cref="Cpu.RestoreState"/> is all or nothing: a refused record leaves every field as it was; and the
/// retired-instruction epoch tells a host when the count was set rather than counted.
/// </summary>
public sealed class CpuStateTests
{
    public static TheoryData<string> BadRecords => ["version", "registers null", "segments short", "x87 short", "retired negative", "cpl", "pdptes", "debug", "unreadable pdpt"];

    [Theory]
    [MemberData(nameof(BadRecords))]
    public void RefusedRecordLeavesTheCpuUnchanged(string fault)
    {
        var machine = new CpuHarness(memoryOptions: new MemoryMapOptions { Strict = true });
        (PhysicalMemoryMap memory, Cpu cpu) = (machine.Memory, machine.Cpu);
        memory.Write(new PhysicalAddress(0x1000), [0x40, 0x43, 0xEB, 0xFC]); // inc ax; inc bx; jmp $-2
        cpu.SetSegment(SegmentRegister.Cs, SegmentState.RealMode(0));
        cpu.Eip = 0x1000;
        cpu.Run(50);
        CpuState good = cpu.SaveState();

        // A record that differs in every field a restore would write first, plus one fault.
        CpuState other = good with
        {
            GeneralRegisters = [.. Enumerable.Range(1, 16).Select(i => (ulong)i * 0x1111)],
            Eip = 0x2000,
            RetiredInstructions = 7,
        };
        CpuState bad = fault switch
        {
            "version" => other with { Version = 99 },
            "registers null" => other with { GeneralRegisters = null! },
            "segments short" => other with { Segments = [.. good.Segments.Take(5)] },
            "x87 short" => other with { X87Image = new byte[100] },
            "retired negative" => other with { RetiredInstructions = -4000 },
            "cpl" => other with { Cpl = 4 },
            "pdptes" => other with { Pdptes = [1, 2] },
            "debug" => other with { Dr6 = 0 },
            _ => other with { Cr0 = good.Cr0 | 0x8000_0001, Cr4 = good.Cr4 | (1 << 5), Cr3 = 0x4000_0000, Pdptes = null }, // PAE, PDPT outside RAM
        };
        string before = Describe(cpu.SaveState());
        long epoch = cpu.RetiredInstructionsEpoch;

        var e = Assert.Throws<ArgumentException>(() => cpu.RestoreState(bad));
        if (fault == "unreadable pdpt")
        {
            Assert.Contains("table at CR3", e.Message, StringComparison.Ordinal);
        }

        Assert.Equal(before, Describe(cpu.SaveState()));
        Assert.Equal(epoch, cpu.RetiredInstructionsEpoch);
    }

    [Fact]
    public void RetiredInstructionsEpochChangesWhenTheCountIsSetNotWhenCounted()
    {
        var m = new CpuHarness();
        m.Load(a =>
        {
            var top = a.CreateLabel();
            a.Label(ref top);
            a.inc(ax);
            a.jmp(top);
        });
        long epoch = m.Cpu.RetiredInstructionsEpoch;
        m.Cpu.Run(100);
        Assert.Equal(epoch, m.Cpu.RetiredInstructionsEpoch);

        CpuState saved = m.Cpu.SaveState();
        m.Cpu.Run(100);
        m.Cpu.RestoreState(saved);
        Assert.Equal(epoch + 1, m.Cpu.RetiredInstructionsEpoch);
        Assert.Equal(100, m.Cpu.RetiredInstructions);

        m.Cpu.Reset();
        Assert.Equal(epoch + 2, m.Cpu.RetiredInstructionsEpoch);
        Assert.Equal(0, m.Cpu.RetiredInstructions);
    }

    private static string Describe(CpuState s) => string.Join(
        ";",
        string.Join(",", s.GeneralRegisters),
        string.Join(",", s.Segments),
        s.Eip,
        s.Eflags,
        s.Cr0,
        s.Cr3,
        s.Cr4,
        s.Cpl,
        s.Dr6,
        s.Dr7,
        s.RetiredInstructions,
        string.Join(",", s.Pdptes ?? []),
        string.Join(",", s.X87Image ?? []));
}
