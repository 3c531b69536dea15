using Virt.Devices;
using Virt.Memory;

namespace Virt.Machine;

/// <summary>
/// A port device on the ISA bus (on later chipsets the LPC bus, which keeps ISA's timing for these legacy devices): each
/// access takes <see cref="AccessNanoseconds"/> of guest time before it reaches the device, as an ISA I/O cycle of about
/// 1 µs does on a PC, instead of the few nanoseconds of one instruction at the clock's nominal rate.
/// </summary>
/// <remarks>
/// Guests rely on that time. Linux's TSC calibration (arch/x86/kernel/tsc.c, quick_pit_calibrate) writes a count to PIT
/// counter 2 and then "reads back the 16-bit counter once" to wait the microsecond until the count loads (the 8254 loads
/// it on the input clock after the write, 838 ns later); with I/O as fast as an instruction it reads the old count and
/// gives up. The <c>outb_p</c>/<c>inb_p</c> delay through port 80h rests on the same assumption. The time is charged in
/// deterministic mode too, so both modes see the same device timing.
/// </remarks>
internal sealed class IsaBusPortDevice(IPortDevice device, VirtualClock clock) : IPortDevice
{
    /// <summary>
    /// The guest time one access takes: 1 µs, the order of an 8-bit ISA I/O cycle at 8.33 MHz with its wait states and
    /// what the Linux kernel assumes ("each IO is going to take about 1us on real hardware", tsc.c, pit_expect_msb).
    /// </summary>
    public const long AccessNanoseconds = 1000;

    /// <inheritdoc/>
    public AccessWidths SupportedWidths => device.SupportedWidths;

    /// <inheritdoc/>
    public uint Read(ushort offset, int sizeInBytes)
    {
        Charge();
        return device.Read(offset, sizeInBytes);
    }

    /// <inheritdoc/>
    public void Write(ushort offset, int sizeInBytes, uint value)
    {
        Charge();
        device.Write(offset, sizeInBytes, value);
    }

    /// <summary>The bus cycle: guest time moves on, and what became due (a PIT edge) happens before the device is accessed.</summary>
    private void Charge()
    {
        clock.AdvanceTo(Math.Min(clock.NowNanoseconds, VirtualClock.MaxNanoseconds - AccessNanoseconds) + AccessNanoseconds);
        clock.RunDueEvents();
    }
}
