using FsCheck.Xunit;
using Virt.Devices;
using Virt.Devices.Tests.Timing;
using Xunit;

namespace Virt.Devices.Tests.Pit8254;

/// <summary>The closed-form counter against <see cref="ReferenceCounter"/>, clock pulse by clock pulse.</summary>
public sealed class Pit8254ReferenceTests
{
    [Property(MaxTest = 300)]
    public bool Counter2_matches_the_per_clock_reference(byte mode, ushort firstCount, byte[] script)
    {
        var clock = new VirtualClock();
        var pit = new Devices.Pit8254(clock, null);
        var portB = new SystemControlPortB(clock, pit);
        TimingTestPorts ports = new TimingTestPorts().Add(pit).Add(portB);
        var reference = new ReferenceCounter();

        int m = mode % 6;
        ports.Out(0x43, (byte)(0x80 | 0x30 | (m << 1)));
        reference.Control(m);
        WriteCount(ports, reference, 2 + (firstCount % 300));

        foreach (byte[] step in script.Chunk(2))
        {
            int op = step[0] % 4;
            int arg = step.Length > 1 ? step[1] : 0;
            switch (op)
            {
                case 0:
                    ports.Out(0x61, (byte)(reference.Gate ? 0 : 1));
                    reference.SetGate(!reference.Gate);
                    break;
                case 1:
                    WriteCount(ports, reference, 2 + (arg * 3));
                    break;
                default:
                    for (int i = 0; i < arg % 64; i++)
                    {
                        reference.Step();
                    }

                    clock.RunUntil(Devices.Pit8254.TimeOfTick(reference.Tick));
                    break;
            }

            Assert.Equal(reference.Tick, Devices.Pit8254.TicksAt(clock.NowNanoseconds));
            Assert.Equal(reference.Out, (ports.In(0x61) & 0x20) != 0);
            if (m != 3)
            {
                ports.Out(0x43, 0x80); // latch counter 2
                int count = ports.In(0x42) | (ports.In(0x42) << 8);
                Assert.Equal(reference.Count, count);
            }
        }

        return true;
    }

    [Property(MaxTest = 100)]
    public bool Counter0_edges_match_the_reference(byte mode, ushort count, byte ticks)
    {
        int m = new[] { 0, 2, 3, 4 }[mode % 4];
        int n = 2 + (count % 500);
        var clock = new VirtualClock();
        var edges = new List<long>();
        var input = new InterruptInput("IRQ0", level =>
        {
            if (level)
            {
                edges.Add(Devices.Pit8254.TicksAt(clock.NowNanoseconds));
            }
        });
        var pit = new Devices.Pit8254(clock, input.CreateLine("PIT"));
        TimingTestPorts ports = new TimingTestPorts().Add(pit);
        var reference = new ReferenceCounter();
        reference.SetGate(true);
        edges.Clear();

        ports.Out(0x43, (byte)(0x30 | (m << 1)));
        ports.Out(0x40, (byte)n);
        ports.Out(0x40, (byte)(n >> 8));
        reference.Control(m);
        reference.WriteCount(n);

        var expected = new List<long>();
        bool previous = reference.Out;
        long end = (n * 3) + ticks;
        while (reference.Tick < end)
        {
            reference.Step();
            if (reference.Out && !previous)
            {
                expected.Add(reference.Tick);
            }

            previous = reference.Out;
        }

        clock.RunUntil(Devices.Pit8254.TimeOfTick(end));
        Assert.Equal(expected, edges);
        return true;
    }

    private static void WriteCount(TimingTestPorts ports, ReferenceCounter reference, int count)
    {
        ports.Out(0x42, (byte)count);
        ports.Out(0x42, (byte)(count >> 8));
        reference.WriteCount(count);
    }
}
