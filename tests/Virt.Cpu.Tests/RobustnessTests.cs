using Xunit;

namespace Virt.Cpu.Tests;

/// <summary>Random byte streams from random states never throw a .NET exception and never hang.</summary>
public sealed class RobustnessTests
{
    [Fact]
    public void Random_code_from_random_states_never_throws_or_hangs()
    {
        var random = new Random(1234);
        var machine = new CpuHarness();
        byte[] bytes = new byte[4096];
        for (int round = 0; round < 300; round++)
        {
            random.NextBytes(bytes);
            machine.Cpu.Reset();

            // Random code everywhere the guest is likely to go: the IVT, the code page and its neighbours.
            for (ulong page = 0; page < 0x30000; page += 4096)
            {
                machine.Memory.Write(new Virt.Memory.PhysicalAddress(page), bytes);
                random.NextBytes(bytes);
            }

            for (int r = 0; r < 8; r++)
            {
                machine.Cpu.SetRegister((GeneralRegister)r, (ulong)random.NextInt64());
            }

            machine.Cpu.SetSegment(SegmentRegister.Cs, SegmentState.RealMode((ushort)random.Next(0, 0x2000)));
            machine.Cpu.SetSegment(SegmentRegister.Ss, SegmentState.RealMode((ushort)random.Next(0, 0x10000)));
            machine.Cpu.SetSegment(SegmentRegister.Ds, SegmentState.RealMode((ushort)random.Next(0, 0x10000)));
            machine.Cpu.SetSegment(SegmentRegister.Es, SegmentState.RealMode((ushort)random.Next(0, 0x10000)));
            machine.Cpu.Eip = (uint)random.Next(0, 0x10000);
            machine.Cpu.Flags = (uint)random.Next() & ~0x100u;
            StopReason stop = machine.Cpu.Run(2_000);

            // Any stop reason is fine; what matters is that Run returned without throwing and within its budget.
            Assert.True(Enum.IsDefined(stop));
            Assert.True(machine.Cpu.RetiredInstructions <= 2_000 + 70_000, "budget overrun");
        }
    }
}
