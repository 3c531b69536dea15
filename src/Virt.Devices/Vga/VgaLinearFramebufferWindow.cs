using Virt.Memory;

namespace Virt.Devices;

/// <summary>The linear framebuffer: the whole VBE video memory as one MMIO window.</summary>
internal sealed class VgaLinearFramebufferWindow(VgaAdapter adapter) : IMmioDevice
{
    public AccessWidths SupportedWidths => AccessWidths.All;

    public ulong Read(RegionOffset offset, int sizeInBytes) => adapter.ReadFramebuffer(offset.Value, sizeInBytes);

    public void Write(RegionOffset offset, int sizeInBytes, ulong value) => adapter.WriteFramebuffer(offset.Value, sizeInBytes, value);
}
