using Virt.Cpu;
using Virt.Devices;
using Virt.Memory;

namespace Virt.Machine;

/// <summary>
/// The PC/AT route of x87 errors with CR0.NE clear: the coprocessor's FERR# sets a latch that drives IRQ13, and the
/// error handler clears it by writing any value to port F0h (IBM PC AT Technical Reference, "Math Coprocessor";
/// Intel SDM Vol. 1, D.2.1). The CPU deasserting FERR# (FNCLEX, FNINIT) also lowers the line.
/// </summary>
internal sealed class FpuErrorLatch(IInterruptLine irq13) : IPortDevice, IFpuErrorOutput
{
    public AccessWidths SupportedWidths => AccessWidths.Byte;

    public uint Read(ushort offset, int sizeInBytes) => 0xFF;

    public void Write(ushort offset, int sizeInBytes, uint value) => irq13.SetLevel(false);

    /// <summary>Follows the CPU's FERR# output: a rising edge raises IRQ13.</summary>
    public void OnFerrChanged(bool asserted) => irq13.SetLevel(asserted);
}
