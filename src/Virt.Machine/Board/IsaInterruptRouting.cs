using System.Globalization;
using Virt.Devices;

namespace Virt.Machine;

/// <summary>
/// The ISA interrupt request lines of the board. Without an I/O APIC each device's line goes straight into the 8259A
/// pair (as it always has); with one, each IRQ is a wire that feeds both the PIC's input and the I/O APIC pin the MADT
/// names for it: IRQ n on pin n, except IRQ0 (the PIT), which the PC wires to pin 2 (the interrupt source override of
/// QEMU's <c>pc</c> machine and of the ACPI tables).
/// </summary>
internal sealed class IsaInterruptRouting
{
    private const int IrqCount = 16;
    private const int CascadeIrq = 2;
    private const int TimerIoApicPin = 2;

    private readonly Pic8259Pair _pic;
    private readonly InterruptInput?[] _wires = new InterruptInput?[IrqCount];

    public IsaInterruptRouting(Pic8259Pair pic, IoApic? ioApic)
    {
        _pic = pic;
        if (ioApic is null)
        {
            return;
        }

        for (int irq = 0; irq < IrqCount; irq++)
        {
            if (irq == CascadeIrq)
            {
                continue;
            }

            string name = "ISA IRQ" + irq.ToString(CultureInfo.InvariantCulture);
            InterruptLine toPic = pic.CreateInputLine(irq, name);
            InterruptLine toIoApic = ioApic.CreateInputLine(IoApicPinOf(irq), name);
            _wires[irq] = new InterruptInput(name, level =>
            {
                toPic.SetLevel(level);
                toIoApic.SetLevel(level);
            });
        }
    }

    /// <summary>The I/O APIC pin of an ISA IRQ on the PC board.</summary>
    /// <param name="irq">0 to 15.</param>
    /// <returns>The pin.</returns>
    public static int IoApicPinOf(int irq) => irq == 0 ? TimerIoApicPin : irq;

    /// <summary>Creates a device's line on ISA IRQ <paramref name="irq"/> (0-15 except 2, the cascade).</summary>
    /// <param name="irq">The IRQ.</param>
    /// <param name="owner">The device's name.</param>
    /// <returns>The line.</returns>
    public InterruptLine CreateLine(int irq, string owner) =>
        _wires[irq] is { } wire ? wire.CreateLine(owner) : _pic.CreateInputLine(irq, owner);
}
