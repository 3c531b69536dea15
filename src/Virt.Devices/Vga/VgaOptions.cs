namespace Virt.Devices;

/// <summary>Options of the <see cref="VgaAdapter"/>.</summary>
public sealed record VgaOptions
{
    /// <summary>The device name for messages.</summary>
    public string Name { get; init; } = "VGA";
}
