using System.Globalization;

namespace Virt.Devices;

/// <summary>Where a PCI function sits: bus, device (slot) and function number, written <c>bb:dd.f</c> as lspci does.</summary>
/// <param name="Bus">The bus number (0-255).</param>
/// <param name="Device">The device number on the bus (0-31).</param>
/// <param name="Function">The function number within the device (0-7).</param>
public readonly record struct PciFunctionAddress(int Bus, int Device, int Function)
{
    /// <summary>The number of device numbers on a bus.</summary>
    public const int DevicesPerBus = 32;

    /// <summary>The number of functions a device may have.</summary>
    public const int FunctionsPerDevice = 8;

    /// <summary>Whether every part is in range.</summary>
    public bool IsValid => Bus is >= 0 and <= 255 && Device is >= 0 and < DevicesPerBus && Function is >= 0 and < FunctionsPerDevice;

    /// <inheritdoc/>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Bus:x2}:{Device:x2}.{Function:x}");
}
