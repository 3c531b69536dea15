using Virt.Devices;
using Virt.Memory;
using Xunit;

namespace Virt.Devices.Tests.Timing;

/// <summary>The timing devices wired as a board does it, driven by a stand-in for the CPU run loop.</summary>
public sealed class PlatformTimingTests
{
    [Fact]
    public void Same_guest_gives_the_same_interrupt_sequence_on_two_runs()
    {
        List<(long Time, byte Vector)> first = RunGuest();
        List<(long Time, byte Vector)> second = RunGuest();

        Assert.Equal(first, second);

        // 50 ms of guest time: IRQ 0 at 1 kHz and IRQ 8 at 1024 Hz, in vector order.
        Assert.InRange(first.Count(e => e.Vector == 0x08), 49, 50);
        Assert.InRange(first.Count(e => e.Vector == 0x70), 50, 52);
        Assert.DoesNotContain(first, e => e.Vector is not (0x08 or 0x70));
    }

    private static List<(long Time, byte Vector)> RunGuest()
    {
        // Wiring, as docs/devices-timing.md shows it.
        var clock = new VirtualClock(new VirtualClockOptions { InstructionsPerMicrosecond = 50 });
        var ports = new IoPortSpace();
        var pic = new Pic8259Pair();
        var pit = new Devices.Pit8254(clock, pic.CreateInputLine(0, "PIT"));
        var portB = new SystemControlPortB(clock, pit);
        var rtc = new Devices.Rtc146818(clock, pic.CreateInputLine(8, "RTC"));
        foreach (IPortMappedDevice device in new IPortMappedDevice[] { pic, pit, portB, rtc })
        {
            foreach (PortBinding binding in device.PortBindings)
            {
                ports.Register(binding.Name, binding.FirstPort, binding.Count, binding.Device);
            }
        }

        // Guest initialization, as a BIOS does it.
        byte[] init =
        [
            0x20, 0x11, 0x21, 0x08, 0x21, 0x04, 0x21, 0x01, 0xA0, 0x11, 0xA1, 0x70, 0xA1, 0x02, 0xA1, 0x01,
            0x21, 0x00, 0xA1, 0x00, 0x43, 0x34, 0x40, 0xA9, 0x40, 0x04, // PIT 1193 = 1 kHz
        ];
        for (int i = 0; i < init.Length; i += 2)
        {
            ports.WriteByte(init[i], init[i + 1]);
        }

        ports.WriteByte(0x70, 0x0B);
        ports.WriteByte(0x71, 0x42); // PIE, 24 h, BCD; register A's default rate 6 = 1024 Hz

        // The run loop.
        var log = new List<(long, byte)>();
        long slice = 0;
        while (clock.NowNanoseconds < 50_000_000)
        {
            clock.RunDueEvents();
            if (pic.HasPendingInterrupt)
            {
                byte vector = pic.AcknowledgeInterrupt();
                log.Add((clock.NowNanoseconds, vector));
                if (vector == 0x70)
                {
                    ports.WriteByte(0x70, 0x0C);
                    ports.ReadByte(0x71);
                    ports.WriteByte(0xA0, 0x20);
                }

                ports.WriteByte(0x20, 0x20);
            }

            long budget = clock.InstructionsUntilNextEvent(1000);
            long retired = budget == 0 ? 0 : Math.Max(1, budget - (slice++ % 7)); // a CPU that sometimes stops early
            clock.AdvanceByInstructions(retired);
        }

        return log;
    }
}
