using System.Buffers.Binary;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Virt.Run.Tests.Acceptance.CpuDifferential;

/// <summary>
/// What the 32-bit and 64-bit differential kernels (<see cref="DiffKernel"/>, <see cref="DiffKernel64"/>) share: the
/// loaded image they poke their tables into, the named labels, and the assembly in passes until every label's address
/// has settled, so that code can use the absolute addresses of its own labels (<see cref="Addr"/>) as immediates.
/// </summary>
internal abstract class DiffKernelImage
{
    /// <summary>Where the Multiboot loader places the image.</summary>
    public const uint Load = 0x100000;

    private readonly Dictionary<string, Label> labels = [];
    private readonly Dictionary<string, uint> previous;

    /// <summary>Creates one assembly pass.</summary>
    /// <param name="previous">The label addresses of the previous pass (empty on the first).</param>
    /// <param name="bitness">The assembler's bitness (32 or 64).</param>
    /// <param name="imageEnd">The first address past the image.</param>
    protected DiffKernelImage(Dictionary<string, uint> previous, int bitness, uint imageEnd)
    {
        this.previous = previous;
        A = new Assembler(bitness);
        Image = new byte[imageEnd - Load];
    }

    /// <summary>The assembler the body writes to.</summary>
    public Assembler A { get; }

    /// <summary>The loaded image, from <see cref="Load"/>.</summary>
    protected byte[] Image { get; }

    /// <summary>The label called <paramref name="name"/> in this pass (created on first use).</summary>
    public Label L(string name)
    {
        if (!labels.TryGetValue(name, out Label l))
        {
            l = A.CreateLabel(name);
            labels[name] = l;
        }

        return l;
    }

    /// <summary>Places the label <paramref name="name"/> here.</summary>
    public void Mark(string name)
    {
        Label l = L(name);
        A.Label(ref l);
        labels[name] = l;
    }

    /// <summary>The absolute address of a label (a large placeholder on the first pass, so encodings do not change).</summary>
    public uint Addr(string name) => previous.TryGetValue(name, out uint v) ? v : 0x00FF_FFF0u;

    /// <summary>The address the label <paramref name="name"/> had in the previous pass, if it had one.</summary>
    protected bool TryGetPreviousAddress(string name, out uint address) => previous.TryGetValue(name, out address);

    public void Poke8(uint address, byte value) => Image[address - Load] = value;

    public void Poke16(uint address, ushort value) => BinaryPrimitives.WriteUInt16LittleEndian(Image.AsSpan((int)(address - Load)), value);

    public void Poke32(uint address, uint value) => BinaryPrimitives.WriteUInt32LittleEndian(Image.AsSpan((int)(address - Load)), value);

    public void Poke64(uint address, ulong value) => BinaryPrimitives.WriteUInt64LittleEndian(Image.AsSpan((int)(address - Load)), value);

    public void PokeBytes(uint address, byte[] bytes) => bytes.CopyTo(Image, (int)(address - Load));

    /// <summary>Prints a string on the debug console.</summary>
    public abstract void Str(string s);

    /// <summary>
    /// Arms the kernel's exception handler to resume at a new label (returned; the caller places it with
    /// <see cref="Mark"/> after the code under test).
    /// </summary>
    public abstract string Try();

    /// <summary>Arms the handler, runs <paramref name="body"/>, prints "NF" when nothing faulted, then resumes.</summary>
    public void Expect(string tag, Action body)
    {
        Str(tag + " ");
        string resume = Try();
        body();
        Str("NF\n");
        Mark(resume);
    }

    /// <summary>
    /// Assembles <paramref name="body"/> between the kernel's prologue and its "END" exit (debug-exit 10h) in passes until
    /// the label addresses settle, and returns the image with the code at <paramref name="codeAddress"/>.
    /// </summary>
    protected static byte[] Build<TKernel>(Func<Dictionary<string, uint>, TKernel> create, Action<TKernel> body, uint codeAddress, uint codeEnd)
        where TKernel : DiffKernelImage
    {
        var addresses = new Dictionary<string, uint>();
        for (int pass = 0; pass < 4; pass++)
        {
            TKernel k = create(addresses);
            k.EmitPrologue();
            body(k);
            k.Str("END\n");
            k.A.mov(dx, 0x501);
            k.A.mov(al, 0x10);
            k.A.@out(dx, al);
            k.A.cli();
            k.A.hlt();

            using var stream = new MemoryStream();
            AssemblerResult result = k.A.Assemble(new StreamCodeWriter(stream), codeAddress, BlockEncoderOptions.ReturnNewInstructionOffsets);
            var now = k.labels.ToDictionary(p => p.Key, p => (uint)result.GetLabelRIP(p.Value));
            bool stable = now.Count == addresses.Count && now.All(p => addresses.TryGetValue(p.Key, out uint v) && v == p.Value);
            addresses = now;
            if (stable)
            {
                byte[] code = stream.ToArray();
                if (codeAddress + code.Length > codeEnd)
                {
                    throw new InvalidOperationException("kernel code too large");
                }

                code.CopyTo(k.Image, codeAddress - Load);
                k.FinishImage();
                return k.Image;
            }
        }

        throw new InvalidOperationException("label addresses did not settle");
    }

    /// <summary>Emits what runs before the body (tables, handlers, mode switches).</summary>
    protected abstract void EmitPrologue();

    /// <summary>Completes the image once the code is in place (headers, default table entries).</summary>
    protected abstract void FinishImage();
}
