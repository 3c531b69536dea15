using Virt.Devices;

namespace Virt.Devices.Tests.Fakes;

/// <summary>An interrupt line that records its level changes and counts rising edges.</summary>
public sealed class RecordingInterruptLine : IInterruptLine
{
    public bool IsAsserted { get; private set; }

    /// <summary>The number of low-to-high transitions (pulses included).</summary>
    public int RisingEdges { get; private set; }

    public void SetLevel(bool asserted)
    {
        if (asserted && !IsAsserted)
        {
            RisingEdges++;
        }

        IsAsserted = asserted;
    }

    public void Pulse()
    {
        RisingEdges++;
        IsAsserted = false;
    }
}
