namespace Virt.Devices;

/// <summary>The transfer type of an 8237 channel (mode register bits 3-2), named from the memory's point of view.</summary>
public enum DmaTransferType
{
    /// <summary>Verify (00b): addresses and counts advance, no memory cycle.</summary>
    Verify = 0,

    /// <summary>Write (01b): I/O device to memory.</summary>
    Write = 1,

    /// <summary>Read (10b): memory to I/O device.</summary>
    Read = 2,

    /// <summary>11b, illegal on the 8237: no memory cycle.</summary>
    Illegal = 3,
}
