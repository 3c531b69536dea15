namespace Virt.Devices.FwCfg;

/// <summary>One named item of the fw_cfg file directory.</summary>
/// <param name="Name">The name, for example <c>etc/e820</c> (at most 55 ASCII bytes).</param>
/// <param name="Key">The selector key it was given (from <see cref="FwCfgKeys.FirstFile"/> up, in name order, as QEMU sorts them).</param>
/// <param name="SizeInBytes">The item size.</param>
/// <param name="Writable">Whether a DMA write may change it.</param>
public sealed record FwCfgFile(string Name, ushort Key, int SizeInBytes, bool Writable);
