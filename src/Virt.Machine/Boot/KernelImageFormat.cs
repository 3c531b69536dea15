namespace Virt.Machine.Boot;

/// <summary>What kind of kernel a <c>-kernel</c> file is, as <see cref="KernelImageProbe"/> decides.</summary>
public enum KernelImageFormat
{
    /// <summary>Neither a bzImage nor a Multiboot kernel.</summary>
    Unknown,

    /// <summary>A Linux bzImage (setup header magic <c>HdrS</c> at 202h): <see cref="LinuxBootLoader"/>.</summary>
    LinuxBzImage,

    /// <summary>A Multiboot v1 kernel (a valid header in the first 8 KiB): <see cref="MultibootLoader"/>.</summary>
    Multiboot,
}
