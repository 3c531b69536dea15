using Virt.Devices;

namespace Virt.Devices.Tests.Fakes;

/// <summary>An 8259A stand-in: a request flag and the vector its INTA cycle returns, counting the cycles.</summary>
public sealed class FakeExternalInterruptSource : IExternalInterruptSource
{
    public bool IsInterruptRequested { get; set; }

    public byte Vector { get; set; } = 0x08;

    public int Acknowledged { get; private set; }

    public byte AcknowledgeInterrupt()
    {
        Acknowledged++;
        IsInterruptRequested = false;
        return Vector;
    }
}
