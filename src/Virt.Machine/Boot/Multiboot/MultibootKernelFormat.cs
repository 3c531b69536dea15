namespace Virt.Machine.Boot;

/// <summary>How a Multiboot kernel was loaded.</summary>
public enum MultibootKernelFormat
{
    /// <summary>From the PT_LOAD program headers of an ELF32 executable.</summary>
    Elf32,

    /// <summary>From the header's address fields (flag bit 16, the "a.out kludge").</summary>
    AddressFields,
}
